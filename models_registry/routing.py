from django.urls import path

from models_registry.consumers import LineConsumer

urlpatterns = [
    path("ws/lines/<slug:name>/", LineConsumer.as_asgi()),
]
