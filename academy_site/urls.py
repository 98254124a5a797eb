from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from academy_site import views

admin.site.site_header = "Academy administration"
admin.site.site_title = "Academy admin"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("api/v1/", include("accounts.api_urls")),
    path("api/v1/", include("curation.api_urls")),
    path("api/v1/", include("training.api_urls")),
    path("api/v1/", include("models_registry.api_urls")),
    path("api/v1/", include("professor.api_urls")),
    path("api/v1/", include("arena.api_urls")),
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
