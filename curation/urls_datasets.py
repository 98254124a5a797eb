from django.urls import path, re_path

from curation.views import datasets

urlpatterns = [
    path("", datasets.dataset_list, name="dataset_list"),
    path("new/", datasets.build_new, name="dataset_build_new"),
    path("builds/<int:build_id>/", datasets.build_detail, name="dataset_build_detail"),
    re_path(r"^(?P<sha256>[0-9a-f]{64})/$", datasets.snapshot_detail, name="dataset_detail"),
    re_path(r"^(?P<sha256>[0-9a-f]{64})/download$", datasets.snapshot_download, name="dataset_download"),
]
