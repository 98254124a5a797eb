"""What a person should know before promoting a version by hand: one warning, shared by every way to promote.

The version page, the line page, the Arena's "carry out", the admin action and the JSON API all
show the same text. It reads the Arena's verdict from the version's own metrics["arena"] (the
registry never imports the Arena).
"""

from models_registry.models import VersionStatus


def promotion_warning(version, current=None, verdict: dict | None = None) -> str:
    """Why promoting `version` over the active version `current` is not backed by a promote verdict; "" if it is.

    `verdict` defaults to the version's newest Arena verdict; `current` to its line's active version.
    """
    if current is None:
        current = version.line.active_version()
    verdict = version.arena_verdict if verdict is None else verdict
    decision, against = verdict.get("decision") or "", verdict.get("against") or ""
    if version.status == VersionStatus.REJECTED or decision in ("hold", "reject"):
        said = decision or "reject"
        return (f"The Arena said {said} for {version.label}"
                + (f" against {against}" if against else "")
                + ": promoting it overrides the promotion policy, and the history records the override.")
    if current is None or current.pk == version.pk:
        return ""
    if not decision:
        return (f"{version.label} was never evaluated in the Arena against {current.label}: nothing shows it is "
                f"at least as good as the active version.")
    if against != current.label:
        return (f"The Arena judged {version.label} against {against or 'no version'}, which is no longer the active "
                f"version ({current.label} is): nothing shows it is at least as good as {current.label}; "
                "evaluate it again first.")
    return ""
