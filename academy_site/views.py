import sys

from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from academy_site.database import is_database_unavailable
from academy_site.overview import collect_counts, collect_panels, collect_runs
from academy_site.readiness import run_checks
from accounts.roles import VIEW_DASHBOARD


@login_not_required
@require_GET
@never_cache
def healthz(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


@login_not_required
@require_GET
@never_cache
def readyz(request):
    """Database, channel layer and broker reachable: 200, else 503 naming what failed."""
    checks = run_checks()
    failed = sorted(name for name, result in checks.items() if not result["ok"])
    body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


API_PREFIXES = ("/api/", "/v1/")


def not_found(request, exception=None):
    """404: JSON in the API's error shape for API paths, the friendly page elsewhere."""
    if _is_api(request):
        return JsonResponse({"error": f"not found: {request.path}", "details": []}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """500: JSON for API paths, the friendly page elsewhere (never a debug page).

    A database that cannot serve now (no pool slot within DB_POOL_TIMEOUT, no connection within
    DB_CONNECT_TIMEOUT, a statement past DB_STATEMENT_TIMEOUT_MS) is 503 with Retry-After: the
    request may succeed when sent again.
    """
    if is_database_unavailable(sys.exc_info()[1]):
        return _database_unavailable(request)
    if _is_api(request):
        return JsonResponse({"error": "internal server error; the error was logged", "details": []}, status=500)
    return default_server_error(request)


def _database_unavailable(request):
    message = "the database is busy or unreachable; try again in a moment"
    if _is_api(request):
        response = JsonResponse({"error": message, "details": []}, status=503)
    else:
        response = HttpResponse(f"<!doctype html><title>Busy</title><h1>Service unavailable</h1><p>{message}.</p>",
                                status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


DATABASE_RETRY_AFTER_SECONDS = 5


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def overview(request):
    return render(request, "overview.html", {"counts": collect_counts(), "runs": collect_runs(),
                                             "panels": collect_panels(request)})


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says; send them to the static icon."""
    return redirect(static("favicon.svg"), permanent=True)
