from django.urls import path

from training.views import runs

urlpatterns = [
    path("", runs.run_list, name="run_list"),
]
