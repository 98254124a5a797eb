from django.urls import path, re_path

from curation.views import datasets_api

urlpatterns = [
    path("datasets", datasets_api.datasets, name="api_datasets"),
    path("datasets/builds/<int:build_id>", datasets_api.build_detail, name="api_dataset_build"),
    re_path(r"^datasets/(?P<sha256>[0-9a-f]{64})$", datasets_api.dataset_detail, name="api_dataset_detail"),
    re_path(r"^datasets/(?P<sha256>[0-9a-f]{64})/download$", datasets_api.dataset_download,
            name="api_dataset_download"),
]
