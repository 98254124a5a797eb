from django.urls import path

from models_registry import api, api_versions

urlpatterns = [
    path("lines/<slug:name>/active", api.line_active, name="api_line_active"),
    path("lines/<slug:name>/genealogy", api_versions.genealogy, name="api_line_genealogy"),
    path("lines/<slug:name>/rollback", api_versions.rollback, name="api_line_rollback"),
    path("lines/<slug:name>/versions", api_versions.register, name="api_line_register"),
    path("lines/<slug:name>/versions/<slug:label>/promote", api_versions.promote, name="api_version_promote"),
]
