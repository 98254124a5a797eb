from django.urls import path

from arena import views

urlpatterns = [
    path("", views.arena_home, name="arena_home"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="arena_evaluation"),
    path("evaluations/<int:pk>/results/", views.evaluation_results, name="arena_evaluation_results"),
    path("evaluations/<int:pk>/apply/", views.evaluation_apply, name="arena_evaluation_apply"),
    path("<slug:name>/exam/", views.exam_detail, name="arena_exam"),
    path("<slug:name>/holdout/", views.holdout_freeze, name="arena_holdout_freeze"),
    path("<slug:name>/<slug:label>/evaluate/", views.evaluate, name="arena_evaluate"),
]
