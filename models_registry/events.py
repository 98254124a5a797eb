"""The `model.activated` message, sent through the one broadcaster (jobs.broadcast)."""

from jobs import broadcast


def activation_event(version, activation) -> dict:
    """The `model.activated` payload agents act on (also sent as the websocket message): the newly active
    version in the one shape agents read it in everywhere (`ModelVersion.active_dict()`, as the line's
    socket and GET .../lines/<name>/active give it), plus what changed it."""
    return {
        "type": "model.activated",
        **version.active_dict(),
        "kind": activation.kind,
        "from_version": activation.from_version.label if activation.from_version else None,
    }


def publish_overview() -> None:
    """The Overview's counters changed (a new version); coalesced by the broadcaster."""
    broadcast.publish_overview()


def publish_activated(version, activation) -> None:
    """Tell the overview and the line's subscribers which version is now active (call after commit)."""
    event = activation_event(version, activation)
    for group in (broadcast.OVERVIEW_GROUP, version.line.group_name):
        broadcast.publish_group_message(group, event)
    broadcast.publish_overview()  # the counters (candidates, active versions) follow
