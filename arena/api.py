"""Arena JSON API: a line's exam (read; replace: Admins), start an evaluation, read it, carry its verdict out,
compare two versions."""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from accounts.api import api_view, json_error
from accounts.payloads import read_payload
from accounts.roles import MANAGE_MODELS, OPERATE_TRAINING, VIEW_DASHBOARD
from arena import results, services
from arena.exams import exam_records, to_jsonl
from arena.models import Evaluation
from arena.payloads import ImportExam, StartEvaluation
from models_registry.models import ModelLine, ModelVersion


def _exam_dict(line, exam) -> dict:
    records = exam_records(exam) if exam else []
    return {"line": line.name, "version": exam.version if exam else None, "items": records,
            "jsonl": to_jsonl(records)}


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def exam(request, name):
    """GET: the line's latest exam. POST {"jsonl": "..."}: save it as a new version (Admin role)."""
    line = get_object_or_404(ModelLine, name=name)
    if request.method == "GET":
        return JsonResponse(_exam_dict(line, line.exams.order_by("-version").first()))
    try:
        services.check_exam_edit(request.principal)  # before the body is read
    except PermissionDenied as exc:
        return json_error(f"permission denied: {exc}", 403)
    body, error = read_payload(request, ImportExam, what="exam")
    if error:
        return error
    latest = line.exams.order_by("-version").first()
    try:
        saved = services.import_exam(body.jsonl.splitlines(), line, user=request.user,
                                     principal=request.principal)
    except PermissionDenied as exc:
        return json_error(f"permission denied: {exc}", 403)
    except services.ExamImportError as exc:
        return json_error("invalid exam: nothing was saved", 400, exc.problems)
    created = latest is None or saved.pk != latest.pk
    return JsonResponse({**_exam_dict(line, saved), "created": created}, status=201 if created else 200)


@api_view(OPERATE_TRAINING, methods=("POST",))
def evaluate(request, name, label):
    line = get_object_or_404(ModelLine, name=name)
    version = get_object_or_404(ModelVersion, line=line, label=label)
    body, error = read_payload(request, StartEvaluation, what="evaluation", optional=True)
    if error:
        return error
    try:
        evaluation = services.start_evaluation(line, version, body.against, requested_by=request.user)
    except services.ArenaError as exc:
        return json_error(str(exc), 400)
    return JsonResponse(evaluation.to_dict(), status=202)


@api_view(VIEW_DASHBOARD)
def evaluation_detail(request, pk):
    return JsonResponse(get_object_or_404(Evaluation, pk=pk).to_dict())


@api_view(MANAGE_MODELS, methods=("POST",))
def evaluation_apply(request, pk):
    evaluation = get_object_or_404(Evaluation, pk=pk)
    try:
        done = services.apply_verdict(evaluation, request.user)
    except PermissionDenied as exc:
        return json_error(str(exc), 403)
    except services.ArenaError as exc:
        return json_error(str(exc), 409)
    evaluation.refresh_from_db()
    return JsonResponse({"applied": done, "evaluation": evaluation.to_dict()})


@api_view(VIEW_DASHBOARD)
def compare(request, name):
    line = get_object_or_404(ModelLine, name=name)
    labels = [request.GET.get("a", ""), request.GET.get("b", "")]
    if not all(labels):
        return json_error("give two versions: ?a=<label>&b=<label>", 400)
    a, b = (get_object_or_404(ModelVersion, line=line, label=label) for label in labels)
    return JsonResponse(results.comparison_dict(line, a, b))
