from django.urls import path

from training.consumers import RunConsumer

urlpatterns = [
    path("ws/runs/<int:run_id>/", RunConsumer.as_asgi()),
]
