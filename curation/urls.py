"""Curation pages: review (lessons and conversations), git sources, datasets."""

from django.urls import path, re_path

from curation.views import datasets, git, review

urlpatterns = [
    # review
    path("lessons/", review.lesson_list, name="lesson_list"),
    path("lessons/upload", review.lesson_upload, name="lesson_upload"),
    path("lessons/<str:source>/<int:pk>/review", review.review_decide, name="review_decide"),
    path("lessons/<str:source>/<int:pk>/edit", review.review_edit, name="review_edit"),
    # git sources
    path("git/", git.repository_list, name="repository_list"),
    path("git/register", git.repository_register, name="repository_register"),
    path("git/<int:repository_id>/", git.repository_detail, name="repository_detail"),
    path("git/<int:repository_id>/mine", git.repository_mine, name="repository_mine"),
    # datasets
    path("datasets/", datasets.dataset_list, name="dataset_list"),
    path("datasets/new/", datasets.build_new, name="dataset_build_new"),
    path("datasets/builds/<int:build_id>/", datasets.build_detail, name="dataset_build_detail"),
    re_path(r"^datasets/(?P<sha256>[0-9a-f]{64})/$", datasets.snapshot_detail, name="dataset_detail"),
    re_path(r"^datasets/(?P<sha256>[0-9a-f]{64})/download$", datasets.snapshot_download, name="dataset_download"),
]
