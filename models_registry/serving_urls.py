from django.urls import path

from models_registry import serving_views

urlpatterns = [
    path("models", serving_views.models, name="serving_models"),
    path("chat/completions", serving_views.chat_completions, name="serving_chat_completions"),
]
