from django.urls import path

from academy_site.consumers import OverviewConsumer
from training.routing import urlpatterns as training_websockets

websocket_urlpatterns = [
    path("ws/overview/", OverviewConsumer.as_asgi()),
    *training_websockets,
]
