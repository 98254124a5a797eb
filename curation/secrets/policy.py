"""What to do with a record whose text held a secret: the policy per kind.

settings.SECRET_POLICY maps a kind (or "default") to one of:
- redact: store the record with `[REDACTED:kind]` markers (the default);
- quarantine: store it redacted but pending review, even from auto-approved sources;
- drop: do not store it at all (a dataset build leaves it out).
The strictest action among the kinds found wins.
"""

from django.conf import settings

ACTIONS = ("redact", "quarantine", "drop")
_RANK = {action: rank for rank, action in enumerate(ACTIONS)}


def action_for(counts) -> str:
    """The action for a record whose findings are `counts` (kind -> number); "" when none."""
    if not counts:
        return ""
    policy = settings.SECRET_POLICY
    default = policy.get("default", "redact")
    return max((policy.get(kind, default) for kind in counts), key=_RANK.__getitem__)
