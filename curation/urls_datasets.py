from django.urls import path

from curation.views import datasets

urlpatterns = [
    path("", datasets.dataset_list, name="dataset_list"),
]
