"""Arena workflows: import exams, take holdouts, evaluate a candidate, carry a verdict out.

The verdict is stored on the candidate as metrics["arena"], which is all the registry
(below us) reads; promotion itself goes through the registry's own promote service.
"""

import logging

from django.db import transaction
from django.utils import timezone

import arena.evaluation
from accounts.api import JSONRefused, strict_loads
from accounts.roles import MANAGE_MODELS, OPERATE_TRAINING, require, require_unless_system
from arena import policy
from arena.exams import DEFAULT_EXAM_PATH, ExamImportError, check_item, parse_items, read_lines, save_exam
from arena.holdouts import HoldoutError, freeze_holdout, latest_holdout
from arena.models import Decision, Evaluation, EvaluationItem, Exam
from arena.replicas import seed_noise
from curation.services.feedback import record_holdout_results
from jobs import lifecycle
from jobs.models import JobStatus
from jobs.runner import JobRunner
from models_registry import services as registry
from models_registry.models import ModelLine, ModelVersion, VersionStatus

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_EXAM_PATH", "ArenaError", "ExamImportError", "HoldoutError", "apply_verdict", "can_edit_exams",
           "check_exam_edit", "ensure_exam",
           "freeze_holdout", "import_exam", "latest_holdout", "override_verdict", "run_evaluation",
           "start_evaluation"]


class ArenaError(Exception):
    """An Arena action was refused; str() says why in plain words."""


def _line(line) -> ModelLine:
    if isinstance(line, ModelLine):
        return line
    found = ModelLine.objects.filter(name=line).first()
    if found is None:
        raise ArenaError(f"no model line {line!r}")
    return found


def _version(line: ModelLine, version) -> ModelVersion:
    if isinstance(version, ModelVersion):
        if version.line_id != line.pk:
            raise ArenaError(f"{version} is not a version of line {line.name}")
        return version
    found = line.versions.filter(label=version).first()
    if found is None:
        raise ArenaError(f"line {line.name} has no version {version!r}")
    return found


# ---------------------------------------------------------------------------- exams
def can_edit_exams(actor) -> bool:
    """Whether `actor` (a user or an API principal) may change an exam: the Admin role.

    An exam's python checks are code that every evaluation runs, so writing one is trusted
    like promotion (manage_models), not like starting a run.
    """
    return actor is not None and actor.has_perm(MANAGE_MODELS)


def check_exam_edit(actor, records: list | None = None) -> list[dict]:
    """The one gate for every way an exam changes (page, API, admin): the Admin role, then each item.

    Raises PermissionDenied without the role and ExamImportError naming every bad item
    (checked by arena.exams.check_item, as an import is); returns the items in canonical form.
    """
    require(actor, MANAGE_MODELS)
    items, problems = [], []
    for number, record in enumerate(records or [], start=1):
        try:
            items.append(check_item(record))
        except ValueError as exc:
            problems.append(f"item {number}: {exc}")
    if problems:
        raise ExamImportError(problems)
    return items


def import_exam(path_or_lines, line, user=None, *, principal=None, system: bool = False) -> Exam:
    """Import a JSONL exam for `line`: a new exam version, or the latest one if nothing changed.

    Only an Admin may (check_exam_edit; `principal` is the API token's holder when there is
    one), or the system itself (system=True: the default exam, `manage.py import_exam` run by
    the server's owner). Raises ExamImportError naming every bad line; nothing is imported then.
    """
    if not system:
        check_exam_edit(principal or user)
    line = _line(line)
    lines, source = read_lines(path_or_lines)
    _refuse_unsafe_json(lines)
    exam, _ = save_exam(line, parse_items(lines), source=source, user=user)
    return exam


def _refuse_unsafe_json(lines: list[str]) -> None:
    """The API's JSON rules for each exam line (NaN, huge integers, deep nesting), named by line number."""
    problems = []
    for number, text in enumerate(lines, start=1):
        if text.strip():
            try:
                strict_loads(text)
            except JSONRefused as exc:
                problems.append(f"line {number}: {exc}")
            except ValueError:
                pass  # malformed: parse_items names it
    if problems:
        raise ExamImportError(problems)


def ensure_exam(line) -> Exam:
    """The line's latest exam; the default coding exam is imported when it has none."""
    line = _line(line)
    return line.exams.order_by("-version").first() or import_exam(DEFAULT_EXAM_PATH, line, system=True)


# ---------------------------------------------------------------------------- evaluations
def start_evaluation(line, candidate, against=None, requested_by=None) -> Evaluation:
    """Queue an evaluation of `candidate` against a version, "base", or (None) the active version.

    With nothing active, None means the base model with no adapter. The line's latest exam
    (the default one if it has none) and latest holdout are used.
    """
    require_unless_system(requested_by, OPERATE_TRAINING, MANAGE_MODELS)
    line = _line(line)
    candidate = _version(line, candidate)
    if against is None:
        against = line.active_version()
    elif against == "base":
        against = None
    else:
        against = _version(line, against)
    if against is not None and against.pk == candidate.pk:
        raise ArenaError(f"{candidate} is the version it would be compared against; evaluate another one")
    exam = ensure_exam(line)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(line=line, candidate=candidate, against=against, exam=exam,
                                               holdout=latest_holdout(line), created_by=requested_by)
        lifecycle.enqueue(evaluation)
    return evaluation


def run_evaluation(evaluation_id: int, worker: str = "") -> Evaluation | None:
    """Claim a queued evaluation and run it to its verdict (the task calls this; safe to repeat)."""
    return EvaluationRunner(evaluation_id, worker).handle()


class EvaluationRunner(JobRunner):
    """Scores both sides with the job's progress (a cancel stops it between batches), then stores the
    items, the verdict on the candidate and the evaluation's end in one transaction."""

    model = Evaluation

    def run(self, job: Evaluation, progress) -> tuple[dict, list[dict]]:
        return _score(job, progress)

    def succeed(self, job: Evaluation, outcome: tuple[dict, list[dict]]) -> None:
        verdict, rows = outcome
        with transaction.atomic():
            EvaluationItem.objects.filter(evaluation=job).delete()
            EvaluationItem.objects.bulk_create(_item(job, row) for row in rows)
            _store_on_candidate(job.candidate_id, verdict)
            record_holdout_results(job.pk, [
                {"kind": row["source_kind"], "id": row["source_id"], "loss": row["candidate_loss"],
                 "f1": row["candidate_f1"]} for row in rows if row["kind"] == "holdout"])
            lifecycle.finish(Evaluation, job.pk, verdict=verdict, decision=verdict["decision"])

    def crash_message(self, exc: Exception) -> str:
        return f"evaluation failed: {type(exc).__name__}: {exc}"


def _score(job: Evaluation, progress) -> tuple[dict, list[dict]]:
    job = Evaluation.objects.select_related("candidate", "against", "exam", "holdout", "line").get(pk=job.pk)
    items, context = arena.evaluation.questions(job)
    rows = arena.evaluation.score(job, items, progress=progress)
    for row, question in zip(rows, items, strict=True):
        row.update(messages=question.messages, reference=question.reference, source_kind=question.source_kind,
                   source_id=question.source_id)
    verdict = policy.decide(rows, candidate=job.candidate.label, against=job.against_label, context={
        **context, "evaluation": job.pk, "line": job.line.name, "evaluated_at": timezone.now().isoformat()},
        seed_noise=seed_noise(job, rows))
    return verdict, rows


def _item(job, row) -> EvaluationItem:
    return EvaluationItem(
        evaluation=job, kind=row["kind"], key=row["key"][:120], category=row["category"], messages=row["messages"],
        reference=row["reference"], source_kind=row["source_kind"], source_id=row["source_id"],
        candidate_loss=row["candidate_loss"], against_loss=row["against_loss"],
        candidate_answer=row["candidate_answer"], against_answer=row["against_answer"],
        candidate_passed=row["candidate_passed"], against_passed=row["against_passed"],
        candidate_f1=row["candidate_f1"], against_f1=row["against_f1"], check_detail=row.get("check_detail", ""))


def _store_on_candidate(version_id: int, verdict: dict) -> None:
    version = ModelVersion.objects.select_for_update().get(pk=version_id)
    metrics = dict(version.metrics or {})
    metrics["arena"] = verdict
    ModelVersion.objects.filter(pk=version_id).update(metrics=metrics)


# ---------------------------------------------------------------------------- verdicts
def _numbers(evaluation: Evaluation) -> dict:
    """What the activation history keeps of a verdict."""
    verdict = evaluation.verdict
    metrics = verdict.get("metrics") or {}
    return {"evaluation": evaluation.pk, "decision": verdict.get("decision"), "against": verdict.get("against"),
            "difference": metrics.get("difference"), "candidate_loss": metrics.get("candidate_loss"),
            "against_loss": metrics.get("against_loss"), "exam": verdict.get("exam"),
            "holdout": verdict.get("holdout")}


def apply_verdict(evaluation: Evaluation, user=None, system: bool = False, note: str = "") -> str:
    """Carry the verdict out: promote through the registry, reject, or (hold) nothing. Returns what was done.

    Only an Admin (manage_models) may do it, or the system itself (system=True: the unattended
    cycle, the command line); `note` is the person's reason, added to what the history records.
    A verdict against a version that is no longer the active one is stale.
    """
    if not system:
        require(user, MANAGE_MODELS)
    evaluation = Evaluation.objects.select_related("candidate", "against", "line").get(pk=evaluation.pk)
    if evaluation.status != JobStatus.SUCCEEDED or not evaluation.decision:
        raise ArenaError(f"evaluation {evaluation.pk} has no verdict yet ({evaluation.status})")
    if evaluation.applied:
        raise ArenaError(f"evaluation {evaluation.pk} was already carried out ({evaluation.applied})")
    candidate, decision = evaluation.candidate, evaluation.decision
    actor = None if system else user
    if decision == Decision.PROMOTE:
        active = evaluation.line.active_version()
        if (active.pk if active else None) != evaluation.against_id:
            raise ArenaError(f"the active version changed since evaluation {evaluation.pk} "
                             f"(it compared against {evaluation.against_label}); evaluate again")
        numbers = _numbers(evaluation)
        diff = numbers["difference"] or {}
        reason = (f"Arena evaluation {evaluation.pk}: promote over {evaluation.against_label}; loss difference "
                  f"{diff.get('mean', 0):+.4f} [{diff.get('low', 0):+.4f}, {diff.get('high', 0):+.4f}]"
                  + (f"; {note.strip()}" if note.strip() else ""))
        try:
            registry.promote_version(candidate, actor, reason, arena=numbers)
        except registry.RegistryError as exc:
            raise ArenaError(str(exc)) from exc
        applied = "promoted"
    elif decision == Decision.REJECT:
        if candidate.status != VersionStatus.CANDIDATE:
            raise ArenaError(f"{candidate} is {candidate.status}; only a candidate can be rejected")
        try:
            registry.reject_version(candidate, actor, f"Arena evaluation {evaluation.pk}"
                                    + (f"; {note.strip()}" if note.strip() else ""))
        except registry.RegistryError as exc:
            raise ArenaError(str(exc)) from exc
        applied = "rejected"
    else:
        applied = "held"
    Evaluation.objects.filter(pk=evaluation.pk, applied="").update(applied=applied, applied_by=actor,
                                                                   applied_at=timezone.now())
    return applied


def override_verdict(version: ModelVersion, user, reason: str):
    """An Admin promotes a held or rejected version by hand; the history says the policy was overridden."""
    require(user, MANAGE_MODELS)
    if not (reason or "").strip():
        raise ArenaError("overriding the promotion policy needs a reason")
    try:
        return registry.promote_version(version, user, reason)
    except registry.RegistryError as exc:
        raise ArenaError(str(exc)) from exc
