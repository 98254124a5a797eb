"""Every realtime message about model lines goes out through this module."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

OVERVIEW_GROUP = "overview"


def activation_event(version, activation) -> dict:
    """The `model.activated` payload agents act on (also sent as the websocket message)."""
    return {
        "type": "model.activated",
        "line": version.line.name,
        "version": version.label,
        "version_id": version.pk,
        "kind": activation.kind,
        "from_version": activation.from_version.label if activation.from_version else None,
        "adapter_dir": version.adapter_dir,
        "adapter_sha256": version.adapter_files.get("adapter_model.safetensors", ""),
        "at": activation.created_at.isoformat(),
    }


def publish_activated(version, activation) -> None:
    """Tell the overview and the line's subscribers which version is now active."""
    event = activation_event(version, activation)
    for group in (OVERVIEW_GROUP, version.line.group_name):
        _group_send(group, event)


def _group_send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = _server_loop()
        if loop is not None and loop.is_running():
            # The in-memory layer's queues belong to the server's loop: hand it the send.
            asyncio.run_coroutine_threadsafe(layer.group_send(group, event), loop).result(timeout=5)
        else:
            async_to_sync(layer.group_send)(group, event)
    except Exception:  # a lost notification must not undo a committed promotion
        logger.exception("could not broadcast %s to %s", event["type"], group)


def _server_loop():
    from academy_site import lifespan

    loop = lifespan.server_loop
    try:
        if loop is asyncio.get_running_loop():
            return None
    except RuntimeError:
        pass
    return loop
