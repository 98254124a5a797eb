from django.urls import path

from curation.views import git_api

urlpatterns = [
    path("git/repositories", git_api.repositories, name="api_git_repositories"),
    path("git/repositories/<int:repository_id>", git_api.repository, name="api_git_repository"),
    path("git/repositories/<int:repository_id>/mine", git_api.repository_mine, name="api_git_repository_mine"),
]
