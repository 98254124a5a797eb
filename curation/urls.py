from django.urls import path

from curation import views

urlpatterns = [
    path("lessons/", views.lesson_list, name="lesson_list"),
    path("datasets/", views.dataset_list, name="dataset_list"),
]
