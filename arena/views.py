"""Arena pages: a line's exam and holdout, starting an evaluation, its live progress and results."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import MANAGE_MODELS, OPERATE_TRAINING, VIEW_DASHBOARD
from arena import results, services
from arena.exams import exam_records, to_jsonl
from arena.forms import EvaluateForm, ExamForm, HoldoutForm
from arena.models import Evaluation
from models_registry.forms import ReasonForm
from models_registry.models import ModelLine, ModelVersion
from models_registry.promotion_checks import promotion_warning


def _get_line_for_user(user, name: str) -> ModelLine:
    if not user.has_perm(VIEW_DASHBOARD):
        raise PermissionDenied
    return get_object_or_404(ModelLine, name=name)


def _get_evaluation_for_user(user, pk: int) -> Evaluation:
    if not user.has_perm(VIEW_DASHBOARD):
        raise PermissionDenied
    return get_object_or_404(Evaluation.objects.select_related("line", "candidate", "against", "exam", "holdout"),
                             pk=pk)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def arena_home(request):
    return render(request, "arena/home.html", {
        "lines": ModelLine.objects.all(),
        "evaluations": Evaluation.objects.select_related("line", "candidate", "against")[:50]})


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def exam_detail(request, name):
    line = _get_line_for_user(request.user, name)
    exam = line.exams.order_by("-version").first()
    form = ExamForm(request.POST or None, initial={"jsonl": to_jsonl(exam_records(exam)) if exam else ""})
    if request.method == "POST":
        services.check_exam_edit(request.user)  # Admins only: PermissionDenied (403) before reading the form
        if form.is_valid():
            try:
                saved = services.import_exam(form.cleaned_data["jsonl"].splitlines(), line, user=request.user)
            except services.ExamImportError as exc:
                for problem in exc.problems:
                    form.add_error("jsonl", problem)
            else:
                if exam is not None and saved.pk == exam.pk:
                    messages.info(request, "No change: the exam is the same as before.")
                else:
                    messages.success(request, f"Saved as exam v{saved.version} ({saved.items.count()} items).")
                return redirect("arena_exam", name=line.name)
    return render(request, "arena/exam.html", {
        "line": line, "exam": exam, "items": exam.items.all() if exam else [], "form": form,
        "exams": line.exams.all(), "holdouts": line.holdouts.all(), "holdout_form": HoldoutForm(
            initial={"size": 50, "seed": 0}), "can_edit": services.can_edit_exams(request.user),
        "can_manage": request.user.has_perm(MANAGE_MODELS)})


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_POST
def holdout_freeze(request, name):
    line = _get_line_for_user(request.user, name)
    form = HoldoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    else:
        try:
            holdout = services.freeze_holdout(line, size=form.cleaned_data["size"], seed=form.cleaned_data["seed"],
                                              user=request.user)
        except services.HoldoutError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{holdout}: {holdout.items.count()} records held out of every later dataset.")
    return redirect("arena_exam", name=line.name)


@permission_required(OPERATE_TRAINING, raise_exception=True)
@require_POST
def evaluate(request, name, label):
    line = _get_line_for_user(request.user, name)
    version = get_object_or_404(ModelVersion, line=line, label=label)
    form = EvaluateForm(request.POST)
    against = (form.data.get("against") or "").strip() or None
    try:
        evaluation = services.start_evaluation(line, version, against, requested_by=request.user)
    except services.ArenaError as exc:
        messages.error(request, str(exc))
        return redirect("version_detail", name=line.name, label=label)
    return redirect("arena_evaluation", pk=evaluation.pk)


def _results_context(request, evaluation: Evaluation) -> dict:
    verdict = evaluation.verdict or {}
    return {"evaluation": evaluation, "line": evaluation.line, "verdict": verdict,
            "categories": results.category_rows(verdict), "chart": results.chart_data(verdict) if verdict else None,
            "questions": results.question_rows(evaluation) if verdict else [],
            "can_manage": request.user.has_perm(MANAGE_MODELS)}


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def evaluation_detail(request, pk):
    evaluation = _get_evaluation_for_user(request.user, pk)
    return render(request, "arena/evaluation.html", _results_context(request, evaluation))


@permission_required(VIEW_DASHBOARD, raise_exception=True)
@require_GET
def evaluation_results(request, pk):
    """The verdict section alone, which the evaluation page fetches when its job succeeds."""
    evaluation = _get_evaluation_for_user(request.user, pk)
    return render(request, "arena/_results.html", _results_context(request, evaluation))


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def evaluation_apply(request, pk):
    """Carry the verdict out after a confirmation with a reason; any other request gets the confirmation page."""
    evaluation = _get_evaluation_for_user(request.user, pk)
    confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
    form = ReasonForm(request.POST if confirmed else None)
    if confirmed and form.is_valid():
        try:
            done = services.apply_verdict(evaluation, request.user, note=form.cleaned_data["reason"])
        except services.ArenaError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Verdict carried out: {evaluation.candidate.label} {done}.")
        return redirect("arena_evaluation", pk=evaluation.pk)
    current = evaluation.line.active_version()
    warning = ""
    if evaluation.decision == "promote":
        warning = promotion_warning(evaluation.candidate, current,
                                    {"decision": evaluation.decision, "against": evaluation.against_label})
    return render(request, "arena/confirm_apply.html", {
        "evaluation": evaluation, "line": evaluation.line, "verdict": evaluation.verdict or {}, "current": current,
        "warning": warning, "form": form})
