"""Review queue pages: list + detail pane, approve/reject, edit, and file upload."""

import json
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.roles import INGEST_EXPERIENCE, REVIEW_EXAMPLES, VIEW_DASHBOARD
from curation.forms import ConversationEditForm, LessonEditForm, UploadForm
from curation.models import ReviewStatus
from curation.services import review as review_service
from curation.services.ingest import PayloadError, ingest_conversations, ingest_lessons
from curation.views.review_common import FilterError, _get_record_for_user, filtered_records
from curation.views.review_paging import queue_order, queue_page

_SOURCES = {"lesson": "Lessons", "conversation": "Conversations", "commit": "Git commits"}
_QUEUE_KEYS = ("source", "status", "tag", "q", "since", "until", "signal", "sort")
_CURSORS = ("after", "before")


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def lesson_list(request):
    source = request.GET.get("source") or "lesson"
    params = _queue_params(request.GET)
    error, status_code = "", 200
    if source not in _SOURCES:
        source, error, status_code = "lesson", f"unknown source {request.GET['source'][:40]!r}", 400
    try:
        records, filters = filtered_records(source, params)
        cursors = {name: _cursor(params, name) for name in _CURSORS}
    except FilterError as exc:
        records, filters, cursors = review_service.model_for(source).objects.none(), {}, {}
        error, status_code = str(exc), 400
    page = queue_page(records, queue_order(params), size=settings.REVIEW_QUEUE_PAGE_SIZE, **cursors)
    base_query = _queue_query(params, source)
    queue_query = _queue_query(params, source, cursors)
    items = _items(page, request.GET.get("item"), queue_query, base_query)
    pending = _pending_counts()
    return render(request, "curation/review/lesson_list.html", {
        "source": source, "sources": _SOURCES, "filters": {**filters, "status": params["status"]},
        "page": page, "items": items, "error": error, "queue_query": queue_query, "base_query": base_query,
        "statuses": ReviewStatus.choices, "pending_counts": pending, "queue_finished": _queue_finished(pending),
        "sampled": params.get("sampled") == "auto", "unreviewed_auto": _unreviewed_auto(source),
    }, status=status_code)


def _unreviewed_auto(source: str) -> int:
    """Approved automatically (AUTO_APPROVE_SOURCES) and never looked at by a person."""
    model = review_service.model_for(source)
    return model.objects.approved().filter(reviewed_by__isnull=True).count()


def _queue_finished(pending: dict) -> dict | None:
    """When nothing waits for a decision: how many approved records a dataset would start from."""
    if any(pending.values()):
        return None
    approved = sum(review_service.model_for(source).objects.approved().count() for source in _SOURCES)
    return {"approved": approved}


def _queue_params(query: QueryDict) -> QueryDict:
    params = query.copy()
    params.setdefault("status", ReviewStatus.PENDING)  # the queue opens on what needs a decision
    return params


def _cursor(params, name: str) -> int | None:
    raw = (params.get(name) or "").strip()
    if raw and not raw.isdigit():
        raise FilterError(name, f"must be a record id, got {raw[:40]!r}")
    return int(raw) if raw else None


def _queue_query(params, source: str, cursors: dict | None = None) -> str:
    """The queue's filters (and, with `cursors`, the page) as a query string."""
    query = {key: params.get(key, "") for key in _QUEUE_KEYS + ("sampled",)} | {"source": source}
    query |= {name: value for name, value in (cursors or {}).items() if value is not None}
    return urlencode(query)


def _items(page, selected_raw, queue_query: str, base_query: str) -> list[dict]:
    """Each record with whether it is selected and where a decision on it goes next (without JS)."""
    records = page.records
    selected = int(selected_raw) if (selected_raw or "").isdigit() else None
    if records and selected not in {r.pk for r in records}:
        selected = records[0].pk
    queue_url = reverse("lesson_list") + "?"
    items = []
    for position, record in enumerate(records):
        after = records[position + 1] if position + 1 < len(records) else None
        before = records[position - 1] if position else None
        if after is None and page.has_next:  # the last of the page goes on to the next page
            next_url = queue_url + base_query + f"&after={record.pk}"
        else:
            follow = after or before
            next_url = queue_url + queue_query + (f"&item={follow.pk}" if follow else "")
        items.append({"record": record, "selected": record.pk == selected, "next_url": next_url})
    return items


def _pending_counts() -> dict:
    return {source: review_service.model_for(source).objects.pending().count() for source in _SOURCES}


@require_POST
@permission_required(REVIEW_EXAMPLES, raise_exception=True)
def review_decide(request, source: str, pk: int):
    record = _get_record_for_user(request.user, source, pk, REVIEW_EXAMPLES)
    decision = request.POST.get("decision")
    decide = {"approve": review_service.approve, "reject": review_service.reject}.get(decision)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if decide is None:
        return _decision_error(request, wants_json, "decision must be approve or reject", 400)
    try:
        decide(record, user=request.user, note=request.POST.get("note", "")[:2000])
    except review_service.ReviewConflict as exc:
        return _decision_error(request, wants_json, str(exc), 409)
    if wants_json:
        return JsonResponse({"id": record.pk, "source": source, "review_status": record.review_status,
                             **_counts_after_decision(source, request.POST.get("queue"))})
    messages.success(request, f"{record} {record.get_review_status_display().lower()}.")
    return redirect(_next_url(request))


def _counts_after_decision(source: str, queue: str | None) -> dict:
    """What the keyboard queue shows as counts: pending per source and, given its query, the queue's length."""
    counts = {"pending": _pending_counts()}
    if queue is not None:
        try:
            counts["queue_count"] = filtered_records(source, _queue_params(QueryDict(queue[:4000])))[0].count()
        except FilterError:
            pass
    return counts


def _decision_error(request, wants_json: bool, message: str, status: int):
    if wants_json:
        return JsonResponse({"error": message, "details": []}, status=status)
    messages.error(request, message)
    return redirect(_next_url(request))


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("lesson_list")


@permission_required(REVIEW_EXAMPLES, raise_exception=True)
def review_edit(request, source: str, pk: int):
    record = _get_record_for_user(request.user, source, pk, REVIEW_EXAMPLES)
    if source == "commit":
        raise Http404("commit examples are kept as mined: reject one instead of editing it")
    form_class = LessonEditForm if source == "lesson" else ConversationEditForm
    if request.method != "POST":
        form = form_class(initial=_initial(record, source))
        return _render_edit(request, record, source, form)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            _save(record, source, form.cleaned_data, request)
        except ValidationError as exc:
            _add_errors(form, exc)
        except review_service.ReviewConflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{record} saved.")
            return redirect(_next_url(request))
    return _render_edit(request, record, source, form, status=400)


def _initial(record, source: str) -> dict:
    if source == "lesson":
        return {name: getattr(record, name) for name in ("situation", "action", "result", "feedback")}
    return {"messages": json.dumps(record.messages, indent=2, ensure_ascii=False)}


def _save(record, source: str, data: dict, request) -> None:
    approve_after = "approve" in request.POST
    if source == "lesson":
        review_service.edit_lesson(record, user=request.user, approve_after=approve_after, **data)
    else:
        review_service.edit_conversation(record, user=request.user, messages=data["messages"],
                                         approve_after=approve_after)


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _render_edit(request, record, source: str, form, status: int = 200):
    next_url = _next_url(request)
    if next_url == reverse("lesson_list"):
        next_url += "?" + urlencode({"source": source, "status": record.review_status, "item": record.pk})
    return render(request, "curation/review/edit.html",
                  {"record": record, "source": source, "form": form, "next_url": next_url}, status=status)


@permission_required(INGEST_EXPERIENCE, raise_exception=True)
def lesson_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    problems, error = [], ""
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        ingest = ingest_lessons if kind == "lessons" else ingest_conversations
        try:
            result = ingest(form.cleaned_data["file"].read(), user=request.user, origin="upload")
        except PayloadError as exc:
            error, problems = exc.message, exc.details
        else:
            messages.success(request, _summary(result))
            source = "lesson" if kind == "lessons" else "conversation"
            return redirect(reverse("lesson_list") + "?" + urlencode({"source": source}))
    status = 400 if request.method == "POST" else 200
    return render(request, "curation/review/upload.html",
                  {"form": form, "error": error, "problems": problems}, status=status)


def _summary(result) -> str:
    text = f"Imported: {result.created} new, {result.duplicates} already known"
    if result.skipped:
        text += f", {len(result.skipped)} skipped (" + "; ".join(
            f"record {s['index']}: {s['reason']}" for s in result.skipped[:5]) + ")"
    return text + "."
