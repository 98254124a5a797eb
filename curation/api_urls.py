"""Curation API (/api/v1/): lessons and tasks, git sources, datasets."""

from django.urls import path, re_path

from curation.views import datasets_api, git_api, review_api

urlpatterns = [
    # review
    path("lessons", review_api.lessons, name="api_lessons"),
    path("tasks", review_api.tasks, name="api_tasks"),
    # git sources
    path("git/repositories", git_api.repositories, name="api_git_repositories"),
    path("git/repositories/<int:repository_id>", git_api.repository, name="api_git_repository"),
    path("git/repositories/<int:repository_id>/mine", git_api.repository_mine, name="api_git_repository_mine"),
    # datasets
    path("datasets", datasets_api.datasets, name="api_datasets"),
    path("datasets/builds/<int:build_id>", datasets_api.build_detail, name="api_dataset_build"),
    re_path(r"^datasets/(?P<sha256>[0-9a-f]{64})$", datasets_api.dataset_detail, name="api_dataset_detail"),
    re_path(r"^datasets/(?P<sha256>[0-9a-f]{64})/download$", datasets_api.dataset_download,
            name="api_dataset_download"),
]
