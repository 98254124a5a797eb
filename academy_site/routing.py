from django.urls import path

from academy_site.consumers import OverviewConsumer
from jobs.consumers import JobConsumer
from models_registry.routing import urlpatterns as registry_websockets
from professor.routing import urlpatterns as professor_websockets
from training.routing import urlpatterns as training_websockets

websocket_urlpatterns = [
    path("ws/overview/", OverviewConsumer.as_asgi()),
    *professor_websockets,  # before the generic job route: the cycle's socket also relays its step's job
    path("ws/jobs/<str:kind>/<int:pk>/", JobConsumer.as_asgi()),
    *training_websockets,
    *registry_websockets,
]
