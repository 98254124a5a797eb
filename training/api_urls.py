from django.urls import path

from training.views import runs_api

urlpatterns = [
    path("runs", runs_api.runs, name="api_runs"),
    path("runs/<int:run_id>", runs_api.run_detail, name="api_run_detail"),
    path("runs/<int:run_id>/cancel", runs_api.run_cancel, name="api_run_cancel"),
    path("runs/<int:run_id>/retry", runs_api.run_retry, name="api_run_retry"),
    path("runs/<int:run_id>/metrics", runs_api.run_metrics, name="api_run_metrics"),
]
