from django.urls import include, path

urlpatterns = [
    path("", include("training.urls_runs")),
    path("", include("training.urls_live")),
]
