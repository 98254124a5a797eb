from django.urls import path

from training.consumers import RunConsumer

urlpatterns = [
    path("ws/runs/<int:pk>/", RunConsumer.as_asgi()),
]
