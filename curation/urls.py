from django.urls import include, path

urlpatterns = [
    path("lessons/", include("curation.urls_review")),
    path("git/", include("curation.urls_git")),
    path("datasets/", include("curation.urls_datasets")),
]
