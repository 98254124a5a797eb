from django.urls import path

from training import views

urlpatterns = [
    path("", views.run_list, name="run_list"),
]
