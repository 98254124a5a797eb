from django.urls import path

from curation.views import git

urlpatterns = [
    path("", git.repository_list, name="repository_list"),
]
