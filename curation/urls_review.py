from django.urls import path

from curation.views import review

urlpatterns = [
    path("", review.lesson_list, name="lesson_list"),
    path("upload", review.lesson_upload, name="lesson_upload"),
    path("<str:source>/<int:pk>/review", review.review_decide, name="review_decide"),
    path("<str:source>/<int:pk>/edit", review.review_edit, name="review_edit"),
]
