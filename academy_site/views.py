from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

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
    """500: JSON for API paths, the friendly page elsewhere (never a debug page)."""
    if _is_api(request):
        return JsonResponse({"error": "internal server error; the error was logged", "details": []}, status=500)
    return default_server_error(request)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def overview(request):
    return render(request, "overview.html", {"counts": collect_counts(), "runs": collect_runs(),
                                             "panels": collect_panels(request)})


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says; send them to the static icon."""
    return redirect(static("favicon.svg"), permanent=True)
