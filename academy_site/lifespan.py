"""ASGI lifespan: remembers the server's event loop and starts the embedded worker."""

import asyncio
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

# The server's loop: worker threads hand coroutines to it with run_coroutine_threadsafe,
# because the in-memory channel layer's queues belong to this loop.
server_loop: asyncio.AbstractEventLoop | None = None


async def lifespan_app(scope, receive, send):
    global server_loop
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            server_loop = asyncio.get_running_loop()
            from jobs import broadcast

            broadcast.set_server_loop(server_loop)
            try:
                if settings.EMBEDDED_WORKER:
                    from academy_site import embedded_worker

                    await asyncio.to_thread(embedded_worker.start)
            except Exception as exc:  # report a failed start to the server, which exits
                logger.exception("start-up failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if settings.EMBEDDED_WORKER:
                from academy_site import embedded_worker

                await asyncio.to_thread(embedded_worker.stop)
            await send({"type": "lifespan.shutdown.complete"})
            return
