"""The Redis channel layer as services mode uses it: idle sockets stay open, a Redis restart heals.

Two faults of channels_redis on current redis-py, fixed here at their cause:

- Idle sockets dropped every 5 s. A websocket consumer waits for its next message with
  BZPOPMIN blocking for `brpop_timeout` (5 s) on the server, while redis-py reads every
  reply with its default `socket_timeout`, also 5 s in recent redis-py (8.1 here). On an idle
  channel the read times out at the same moment Redis would have answered "nothing yet",
  and the consumer dies with `TimeoutError: Timeout reading from ...`. Here the read
  timeout is always longer than the blocking pop.
- The first handshakes after a Redis restart failed with "Connection closed by server":
  pooled connections opened before the restart are dead, and the first command on each
  fails. Commands that only write (group_add, group_discard, send, group_send) are
  retried on a fresh connection. The blocking receive is not: the restarted Redis has
  forgotten this channel and its groups, so the consumer must end, and its client
  reconnect and resume, rather than wait forever on a channel nobody sends to.
"""

from __future__ import annotations

import asyncio

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Extra seconds a reply may take beyond the blocking pop's own timeout.
READ_MARGIN_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 5.0
# A pooled connection idle for this long is PINGed before use (and replaced if dead).
HEALTH_CHECK_SECONDS = 15
# Write attempts after the first, with these pauses: long enough for a restarting Redis
# to accept connections again, short enough to answer a handshake quickly.
WRITE_RETRY_PAUSES = (0.05, 0.25, 1.0)
_TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


def connection_options(brpop_timeout: float) -> dict:
    """redis-py options every pool of the layer gets unless the host entry sets them itself."""
    return {"socket_timeout": brpop_timeout + READ_MARGIN_SECONDS,
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_keepalive": True,
            "health_check_interval": HEALTH_CHECK_SECONDS}


class RedisChannelLayer(_RedisChannelLayer):
    """channels_redis with a read timeout above its blocking pop and retried writes (see the module docstring)."""

    def __init__(self, hosts=None, **kwargs):
        super().__init__(hosts=hosts, **kwargs)
        defaults = connection_options(self.brpop_timeout)
        self.hosts = [{**defaults, **host} for host in self.hosts]

    async def send(self, channel, message):
        return await _with_retries(super().send, channel, message)

    async def group_add(self, group, channel):
        return await _with_retries(super().group_add, group, channel)

    async def group_discard(self, group, channel):
        return await _with_retries(super().group_discard, group, channel)

    async def group_send(self, group, message):
        return await _with_retries(super().group_send, group, message)


async def _with_retries(method, *args):
    # A failed command makes redis-py drop that connection, so each retry gets a new one.
    for pause in WRITE_RETRY_PAUSES:
        try:
            return await method(*args)
        except _TRANSIENT:
            await asyncio.sleep(pause)
    return await method(*args)
