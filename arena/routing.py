from django.urls import path

from arena.consumers import EvaluationConsumer

urlpatterns = [
    path("ws/evaluations/<int:pk>/", EvaluationConsumer.as_asgi()),
]
