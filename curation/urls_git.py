from django.urls import path

from curation.views import git

urlpatterns = [
    path("", git.repository_list, name="repository_list"),
    path("register", git.repository_register, name="repository_register"),
    path("<int:repository_id>/", git.repository_detail, name="repository_detail"),
    path("<int:repository_id>/mine", git.repository_mine, name="repository_mine"),
]
