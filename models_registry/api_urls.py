from django.urls import path

from models_registry import api

urlpatterns = [
    path("lines/<slug:name>/active", api.line_active, name="api_line_active"),
]
