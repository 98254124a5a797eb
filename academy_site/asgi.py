"""ASGI entry point: HTTP, websockets and lifespan in one application."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from academy_site.body_limit import RequestBodyLimit  # noqa: E402
from academy_site.lifespan import lifespan_app  # noqa: E402
from academy_site.routing import websocket_urlpatterns  # noqa: E402
from accounts.websocket import TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Body limits are enforced while the body streams in, before Django reads it whole.
        "http": RequestBodyLimit(django_asgi_app),
        # Session or API token; the origin, login and permission checks are in jobs.consumers.
        "websocket": AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan_app,
    }
)
