"""Training pages: the runs list and start form, a run's live page, the compare page."""

from django.urls import path

from training.views import live, runs

urlpatterns = [
    path("", runs.run_list, name="run_list"),
    path("runs/new/", runs.run_new, name="run_new"),
    path("runs/<int:run_id>/", live.run_detail, name="run_detail"),
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="run_cancel"),
    path("runs/<int:run_id>/retry/", runs.run_retry, name="run_retry"),
    path("compare/", live.run_compare, name="run_compare"),
]
