from django.urls import path

from curation.views import review_api

urlpatterns = [
    path("lessons", review_api.lessons, name="api_lessons"),
    path("tasks", review_api.tasks, name="api_tasks"),
]
