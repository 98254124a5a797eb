from django.urls import include, path

urlpatterns = [
    path("", include("curation.urls_review_api")),
    path("", include("curation.urls_git_api")),
    path("", include("curation.urls_datasets_api")),
]
