from django.urls import path

from models_registry import canary_views, views

urlpatterns = [
    path("", views.line_list, name="line_list"),
    path("<slug:name>/", views.line_detail, name="line_detail"),
    path("<slug:name>/compare/", views.compare, name="version_compare"),
    path("<slug:name>/rollback/", views.rollback, name="line_rollback"),
    path("<slug:name>/canary/start/", canary_views.start, name="line_canary_start"),
    path("<slug:name>/canary/stop/", canary_views.stop, name="line_canary_stop"),
    path("<slug:name>/<slug:label>/", views.version_detail, name="version_detail"),
    path("<slug:name>/<slug:label>/Modelfile", views.version_modelfile, name="version_modelfile"),
    path("<slug:name>/<slug:label>/chat", views.version_chat, name="version_chat"),
    path("<slug:name>/<slug:label>/promote/", views.promote, name="version_promote"),
    path("<slug:name>/<slug:label>/archive/", views.archive, name="version_archive"),
]
