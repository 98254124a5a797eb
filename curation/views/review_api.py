"""JSON API for lessons and task conversations: push a batch, list with filters."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.paginator import Paginator
from django.http import JsonResponse

from accounts.api import api_view, json_error
from accounts.roles import VIEW_DASHBOARD
from curation.services.ingest import PayloadError, check_ingest, ingest_conversations, ingest_lessons
from curation.views.review_common import FilterError, conversation_json, filtered_records, lesson_json

MAX_PAGE_SIZE = 500


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def lessons(request):
    if request.method == "GET":
        return _list(request, "lesson", lesson_json)
    return _ingest(request, ingest_lessons)


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def tasks(request):
    if request.method == "GET":
        return _list(request, "conversation", conversation_json)
    return _ingest(request, ingest_conversations)


def _ingest(request, ingest):
    try:
        check_ingest(request.principal)  # the token's role too, before the body is read
    except PermissionDenied as exc:
        return json_error(f"permission denied: {exc}", 403)
    body, error = _read_body(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    try:
        result = ingest(body, user=request.user, origin="api")
    except PayloadError as exc:
        return json_error(exc.message, 400, exc.details)
    return JsonResponse(result.as_dict(), status=201)


def _read_body(request, max_bytes: int):
    """The raw body, or a 413 response. Decoding is left to the parser so it can name bad records."""
    too_large = json_error(f"request body too large: at most {max_bytes} bytes", 413)
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        return None, too_large
    try:
        body = request.body
    except RequestDataTooBig:
        return None, too_large
    return (None, too_large) if len(body) > max_bytes else (body, None)


def _list(request, source: str, to_json):
    try:
        records, filters = filtered_records(source, request.GET)
        size = _page_size(request.GET.get("page_size"))
    except FilterError as exc:
        return json_error("invalid filter", 400, [{"field": exc.field, "message": str(exc)}])
    paginator = Paginator(records, size)
    page = paginator.get_page(request.GET.get("page"))
    return JsonResponse({
        "count": paginator.count, "page": page.number, "pages": paginator.num_pages, "page_size": size,
        "filters": {name: value for name, value in filters.items() if value},
        "results": [to_json(record) for record in page],
    })


def _page_size(raw) -> int:
    if not raw:
        return settings.REVIEW_QUEUE_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise FilterError("page_size", f"must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)
