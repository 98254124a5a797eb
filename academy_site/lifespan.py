"""ASGI lifespan: hands the server's event loop to the broadcaster and starts the embedded worker."""

import asyncio
import logging

from django.conf import settings

logger = logging.getLogger(__name__)

async def lifespan_app(scope, receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            from jobs import broadcast

            # Worker threads hand in-memory layer sends to this loop (its queues belong to it).
            broadcast.set_server_loop(asyncio.get_running_loop())
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
