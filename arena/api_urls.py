from django.urls import path

from arena import api

urlpatterns = [
    path("lines/<slug:name>/versions/<slug:label>/evaluate", api.evaluate, name="api_version_evaluate"),
    path("lines/<slug:name>/exam", api.exam, name="api_line_exam"),
    path("lines/<slug:name>/compare", api.compare, name="api_line_compare"),
    path("evaluations/<int:pk>", api.evaluation_detail, name="api_evaluation"),
    path("evaluations/<int:pk>/apply", api.evaluation_apply, name="api_evaluation_apply"),
]
