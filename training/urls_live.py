from django.urls import path

from training.views import live

urlpatterns = [
    path("runs/<int:run_id>/", live.run_detail, name="run_detail"),
    path("compare/", live.run_compare, name="run_compare"),
]
