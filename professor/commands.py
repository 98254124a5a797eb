"""The agent's command words, routed by intent.

A command is read as words, not as a string to search: the first verb decides what is
asked ("check", "start", "prepare", "evaluate", ...) and the objects around it settle the
verbs that could mean two things ("run the evaluation" vs "run training"). So "check
training progress" is a question about progress and can never start anything, whatever
other words it contains. Unknown words get the list of commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.roles import BUILD_DATASETS, OPERATE_TRAINING, VIEW_DASHBOARD, require_unless_system

PREPARE, START, PROGRESS, EVALUATE, READINESS, HELP = (
    "prepare_materials", "start_training", "check_progress", "evaluate_model", "readiness", "help")

COMMANDS = {
    PREPARE: "prepare learning materials — build a dataset from the approved examples",
    START: "start training — start a run if readiness allows, or say why not",
    PROGRESS: "check training progress — report the current run (never starts anything)",
    EVALUATE: "evaluate model — run the Arena on the newest candidate",
    READINESS: "are we ready to train? — the readiness rules with their numbers",
}

# verb -> the intents it can mean (the first is its plain meaning)
VERBS = {
    "prepare": [PREPARE], "build": [PREPARE], "make": [PREPARE], "create": [PREPARE], "gather": [PREPARE],
    "assemble": [PREPARE], "collect": [PREPARE],
    "start": [START], "begin": [START], "launch": [START], "train": [START], "kick": [START], "resume": [START],
    "run": [START, EVALUATE],
    "check": [PROGRESS, READINESS], "show": [PROGRESS, READINESS], "report": [PROGRESS], "follow": [PROGRESS],
    "watch": [PROGRESS], "monitor": [PROGRESS], "how": [PROGRESS, READINESS], "what": [PROGRESS, READINESS],
    "status": [PROGRESS], "progress": [PROGRESS],
    "evaluate": [EVALUATE], "test": [EVALUATE], "judge": [EVALUATE], "assess": [EVALUATE], "benchmark": [EVALUATE],
    "compare": [EVALUATE], "examine": [EVALUATE],
    "help": [HELP], "list": [HELP],
    "ready": [READINESS], "readiness": [READINESS],
}
# object word -> the intents it points to
OBJECTS = {
    "material": [PREPARE], "materials": [PREPARE], "dataset": [PREPARE], "datasets": [PREPARE], "data": [PREPARE],
    "snapshot": [PREPARE], "lessons": [PREPARE],
    "training": [START, PROGRESS, READINESS], "train": [START, READINESS], "fine": [START],
    "progress": [PROGRESS], "status": [PROGRESS], "loss": [PROGRESS], "going": [PROGRESS], "current": [PROGRESS],
    "evaluation": [EVALUATE], "arena": [EVALUATE], "model": [EVALUATE], "candidate": [EVALUATE],
    "version": [EVALUATE], "exam": [EVALUATE],
    "ready": [READINESS], "readiness": [READINESS],
    "commands": [HELP],
}
NEGATIONS = {"don't", "dont", "not", "never", "no", "stop"}
# A command that opens like a question asks about something; it never acts.
QUESTION_LEADS = {"is", "are", "am", "should", "shall", "when", "do", "does", "did", "has", "have", "was", "were"}
ACTING = {START: READINESS, PREPARE: READINESS, EVALUATE: PROGRESS}
# Verbs too common to act on alone: "make a sandwich" is not "prepare learning materials".
GENERIC_VERBS = {"make", "create", "build", "gather", "collect", "assemble", "start", "begin", "launch", "kick",
                 "resume", "test", "judge", "compare", "list", "follow", "watch", "report"}
_WORD = re.compile(r"[a-z']+")


@dataclass
class Answer:
    """What the Professor says: the intent it understood, plain sentences, and the numbers behind them."""

    intent: str
    text: str
    data: dict = field(default_factory=dict)
    ok: bool = True

    def as_dict(self) -> dict:
        return {"intent": self.intent, "ok": self.ok, "answer": self.text, "data": self.data}


def route(words: str) -> str | None:
    """The intent of a command, or None when the words ask for nothing we know."""
    tokens = _WORD.findall((words or "").lower())
    if not tokens or any(t in NEGATIONS for t in tokens):
        return None
    intent = _intent(tokens)
    if tokens[0] in QUESTION_LEADS:
        objects = {i for t in tokens for i in OBJECTS.get(t, [])}
        if intent is None:
            intent = READINESS if READINESS in objects else PROGRESS if objects else None
        intent = ACTING.get(intent, intent)
    return intent


def _intent(tokens: list[str]) -> str | None:
    objects = [intent for t in tokens for intent in OBJECTS.get(t, [])]
    for position, token in enumerate(tokens):
        meanings = VERBS.get(token)
        if not meanings:
            continue
        after = [intent for t in tokens[position + 1:] for intent in OBJECTS.get(t, [])]
        # The verb's own meanings, ranked by the objects that follow it (then any object at all).
        for pool in (after, objects):
            for intent in meanings:
                if intent in pool:
                    return intent
        if (len(meanings) == 1 and token not in GENERIC_VERBS) or token in ("check", "show", "how", "what"):
            return meanings[0]
    return None


def ask(user, words: str, *, principal=None, in_process: bool = False) -> Answer:
    """Understand `words` and act on them; `principal` (a token's role) decides what is allowed.

    Every answer, and every refusal, is kept in the journal with who asked and the words.
    """
    try:
        answer = _answer(user, words, principal=principal, in_process=in_process)
    except PermissionDenied as exc:
        refused = Answer(route(words) or HELP, f"Not allowed: {refusal_in_words(exc)}", ok=False)
        _keep(user, principal, words, refused, refused=True)
        raise
    _keep(user, principal, words, answer)
    return answer


def _answer(user, words: str, *, principal, in_process: bool) -> Answer:
    intent = route(words)
    if intent is None or intent == HELP:
        return help_answer(unknown=intent is None, words=words)
    actor = principal or user
    handler = {PREPARE: _prepare, START: _start, PROGRESS: _progress, EVALUATE: _evaluate,
               READINESS: _readiness}[intent]
    return handler(user, actor, in_process=in_process)


def asker_name(user, principal=None) -> str:
    """Who asked, as the journal says it: "token <name>" for an API token, else the user name."""
    token = getattr(principal, "token", None)
    if token is not None:
        return f"token {token.name}"
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "command line"


# answer.data key -> (the job model's kind, the link's label)
_ANSWER_JOBS = {"run": ("run", "run"), "build": ("build", "build"), "evaluation": ("evaluation", "evaluation")}


def _keep(user, principal, words: str, answer: Answer, *, refused: bool = False) -> None:
    from professor.journal import record_ask
    from professor.models import StepOutcome, job_model

    links, job = [], None
    for key, (kind, label) in _ANSWER_JOBS.items():
        pk = answer.data.get(key) if isinstance(answer.data.get(key), int) else None
        model = job_model(kind) if pk is not None else None
        found = model.objects.filter(pk=pk).first() if model is not None else None
        if found is not None:
            links.append({"label": f"{label} {pk}", "url": found.get_absolute_url()})
            job = job or found
    outcome = StepOutcome.FAILED if refused else StepOutcome.OK if answer.ok else StepOutcome.STOPPED
    record_ask(words, answer.text, outcome=outcome, user=user, asker=asker_name(user, principal),
               numbers={"intent": answer.intent, **answer.data}, links=links,
               job=job if answer.intent in (PREPARE, START, EVALUATE) else None)


def help_answer(*, unknown: bool = True, words: str = "") -> Answer:
    lines = [f"- {text}" for text in COMMANDS.values()]
    lead = f"I do not know how to {words.strip()!r}. " if unknown and words.strip() else ""
    return Answer(HELP, lead + "I understand these commands:\n" + "\n".join(lines),
                  data={"commands": list(COMMANDS.values())}, ok=not unknown)


def refusal_in_words(refusal: PermissionDenied) -> str:
    """A refusal for people: the role in plain words, without permission codenames."""
    return getattr(refusal, "in_words", None) or str(refusal)


# ---------------------------------------------------------------------------- handlers
def _readiness(user, actor, *, in_process: bool) -> Answer:
    from professor.readiness import readiness

    require_unless_system(actor, VIEW_DASHBOARD)
    decision = readiness()
    lead = "Ready to train: " if decision.ready else "Not ready to train: "
    shown = decision.reasons if decision.ready else decision.blocking
    return Answer(READINESS, lead + "; ".join(shown) + ".", data=decision.as_dict())


def _prepare(user, actor, *, in_process: bool) -> Answer:
    from curation.services.datasets import run_build, start_build
    from professor.readiness import approved_count

    require_unless_system(actor, BUILD_DATASETS)
    approved = approved_count()
    name = "professor-materials"
    build = start_build(user, name=name, format=settings.PROFESSOR_DATASET_FORMAT, queue=not in_process)
    if not in_process:
        return Answer(PREPARE, f"Building dataset {name!r} (build {build.pk}) from {approved} approved examples; "
                               f"it appears under /datasets/ when done.",
                      data={"build": build.pk, "approved": approved})
    build = run_build(build.pk)
    if build.snapshot is None:
        return Answer(PREPARE, f"The dataset build {build.pk} failed: {build.error}", data={"build": build.pk},
                      ok=False)
    snap = build.snapshot
    return Answer(PREPARE, f"Built dataset {snap.short_hash} from {approved} approved examples: {snap.row_count} "
                           f"examples ({snap.train_count} train, {snap.eval_count} eval).",
                  data={"build": build.pk, "dataset": snap.sha256, "rows": snap.row_count})


def _start(user, actor, *, in_process: bool) -> Answer:
    from curation.services.datasets import run_build, start_build
    from professor.cycle import active_cycle, busy
    from professor.parameters import mark_automatic, suggest_parameters, values
    from professor.readiness import readiness
    from training import services as training

    require_unless_system(actor, OPERATE_TRAINING)
    holder = active_cycle()
    if holder is not None:
        refusal = busy(holder)
        return Answer(START, f"Not starting: {refusal}.", data={"cycle": holder.pk, "status": refusal.status},
                      ok=False)
    decision = readiness()
    if not decision.ready:
        return Answer(START, "Not starting: " + "; ".join(decision.blocking) + ".", data=decision.as_dict(), ok=False)
    build = run_build(start_build(user, name="professor-training", format=settings.PROFESSOR_DATASET_FORMAT,
                                  queue=False).pk)
    if build.snapshot is None:
        return Answer(START, f"Not starting: the dataset build failed: {build.error}", ok=False)
    snap = build.snapshot
    if snap.row_count < settings.MIN_DATASET_EXAMPLES:
        return Answer(START, f"Not starting: the dataset has {snap.row_count} examples; automatic runs need at least "
                             f"{settings.MIN_DATASET_EXAMPLES}.", data={"rows": snap.row_count}, ok=False)
    suggestion = suggest_parameters(snap)
    hp = {**values(suggestion), "model_line": decision.numbers["line"]}
    try:
        run = training.start_run(user, dataset=snap, hyperparameters=hp)
    except ValidationError as exc:
        return Answer(START, "Not starting: " + "; ".join(exc.messages), ok=False)
    mark_automatic(run, suggestion)
    chosen = values(suggestion)
    text = (f"Started run {run.pk} on dataset {snap.short_hash} ({snap.row_count} examples): batch "
            f"{chosen['batch_size']}, {chosen['num_epochs']} epochs, learning rate {chosen['learning_rate']}. "
            f"Follow it at /training/runs/{run.pk}/.")
    if in_process:
        from training.execution import execute

        status = execute(run.pk, "cli@localhost")
        run.refresh_from_db()
        text += f" It {status or run.status}" + (f": {run.human_error}" if run.human_error else ".")
    return Answer(START, text, data={"run": run.pk, "dataset": snap.sha256, "rows": snap.row_count,
                                     "hyperparameters": chosen})


def _progress(user, actor, *, in_process: bool) -> Answer:
    from professor.models import Cycle
    from professor.readiness import runs_of_line
    from training.models import MetricPoint

    require_unless_system(actor, VIEW_DASHBOARD)
    runs = runs_of_line()
    run = runs.active().order_by("-created_at", "-id").first() or runs.order_by("-created_at", "-id").first()
    cycle = Cycle.objects.active().first()
    cycle_text = f" Cycle {cycle.pk} is {cycle.status}." if cycle else ""
    if run is None:
        return Answer(PROGRESS, "No training run yet." + cycle_text, data={"run": None})
    point = MetricPoint.objects.filter(run=run, kind="train").order_by("-step").first()
    data = {"run": run.pk, "status": run.status, "progress": run.progress, "step": run.current_step,
            "total_steps": run.total_steps, "loss": point.loss if point else None, "eta_seconds": run.eta_seconds}
    if run.is_active:
        text = (f"Run {run.pk} is {run.status}: step {run.current_step} of {run.total_steps or '?'} "
                f"({run.progress * 100:.0f}%)")
        if point and point.loss is not None:
            text += f", latest loss {point.loss:.4f}"
        if run.eta_seconds:
            text += f", about {run.eta_seconds / 60:.0f} min left"
        text += "."
    else:
        text = f"No run is in progress. The last one, run {run.pk}, {run.status}"
        text += f" with train loss {point.loss:.4f}." if point and point.loss is not None else "."
        if run.human_error:
            text += f" {run.human_error}"
    return Answer(PROGRESS, text + cycle_text, data=data)


def _evaluate(user, actor, *, in_process: bool) -> Answer:
    from arena import services as arena
    from models_registry.models import ModelLine
    from professor.readiness import line_name

    require_unless_system(actor, OPERATE_TRAINING)
    line = ModelLine.objects.filter(name=line_name()).first()
    version = line.versions.candidates().order_by("-number").first() if line else None
    if version is None:
        return Answer(EVALUATE, f"There is no candidate version of line {line_name()} to evaluate.", ok=False)
    try:
        evaluation = arena.start_evaluation(line, version, requested_by=user)
    except arena.ArenaError as exc:
        return Answer(EVALUATE, f"Cannot evaluate {version.label}: {exc}.", ok=False)
    against = evaluation.against.label if evaluation.against_id else "the base model"
    text = f"Evaluating {line.name} {version.label} against {against} (evaluation {evaluation.pk})."
    data = {"evaluation": evaluation.pk, "candidate": version.label, "against": against}
    if in_process:
        evaluation = arena.run_evaluation(evaluation.pk, worker="cli@localhost") or evaluation
        evaluation.refresh_from_db()
        verdict = evaluation.verdict or {}
        text += f" Verdict: {verdict.get('decision', evaluation.status)}; " + "; ".join(verdict.get("reasons") or [])
        data["verdict"] = verdict
    return Answer(EVALUATE, text, data=data)
