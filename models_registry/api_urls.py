from django.urls import path

from models_registry import api, api_versions, canary_api

urlpatterns = [
    path("lines/<slug:name>/active", api.line_active, name="api_line_active"),
    path("feedback", canary_api.feedback, name="api_feedback"),
    path("lines/<slug:name>/canary", canary_api.canary, name="api_line_canary"),
    path("lines/<slug:name>/canary/stop", canary_api.canary_stop, name="api_line_canary_stop"),
    path("lines/<slug:name>/canary/policy", canary_api.canary_policy, name="api_line_canary_policy"),
    path("lines/<slug:name>/genealogy", api_versions.genealogy, name="api_line_genealogy"),
    path("lines/<slug:name>/rollback", api_versions.rollback, name="api_line_rollback"),
    path("lines/<slug:name>/versions", api_versions.register, name="api_line_register"),
    path("lines/<slug:name>/versions/<slug:label>/promote", api_versions.promote, name="api_version_promote"),
]
