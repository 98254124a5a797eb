from django.urls import path

from models_registry import views

urlpatterns = [
    path("", views.line_list, name="line_list"),
]
