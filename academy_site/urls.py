from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from academy_site import views

admin.site.site_header = "Academy administration"
admin.site.site_title = "Academy admin"

# Every app's JSON API (token or session) is under /api/v1/, from its own api_urls module.
API_APPS = ("accounts", "curation", "training", "models_registry", "professor", "arena")

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    *(path("api/v1/", include(f"{app}.api_urls")) for app in API_APPS),
    path("v1/", include("models_registry.serving_urls")),
    path("", include("curation.urls")),
    path("training/", include("training.urls")),
    path("models/", include("models_registry.urls")),
    path("professor/", include("professor.urls")),
    path("arena/", include("arena.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "academy_site.views.not_found"
handler500 = "academy_site.views.server_error"
