from django.urls import path

from academy_site.consumers import OverviewConsumer

websocket_urlpatterns = [
    path("ws/overview/", OverviewConsumer.as_asgi()),
]
