from django.urls import path

from curation.views import review

urlpatterns = [
    path("", review.lesson_list, name="lesson_list"),
]
