"""The unattended cycle, a state machine: memory import -> readiness -> dataset -> training -> Arena -> policy.

start_cycle() creates the Cycle and queues it; a partial unique constraint allows one active cycle
per line, so a second trigger gets CycleBusy ("a cycle is already running since ... (cycle N)").
run_cycle() claims it and takes the steps that need no job (memory, readiness) up to its dataset
build, then returns: no worker is held while the cycle waits. From there it waits for one job at a
time (`waiting_for`, `waiting_kind`, `waiting_id`), and when that job ends, the hooks of the apps
below (professor.hooks) call job_ended(), which takes the next step: start the next job (the run,
the evaluation, seed replicas), or carry the verdict out and finish. Each step writes a journal
entry. A failed, cancelled or lost job, or a step that fails, stops the cycle with a plain reason;
promotion happens only in the last step, so a failed cycle never promotes.

A waiting cycle has no worker of its own: it lives as long as its job (Cycle.objects.stale()), and
the job's end, lost included, ends or advances it. cancel_cycle() cancels the job it waits for.

in_process=True (embedded `cycle --wait`) runs each job in the calling process, as `train --wait`
does, and takes the next step there; the hooks leave such a cycle to that process.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.roles import OPERATE_TRAINING, require_unless_system
from arena.policy import noise_measured
from jobs import lifecycle
from jobs.models import TERMINAL_STATUSES, JobStatus
from professor import journal, replicas
from professor.journal import link, run_link
from professor.memory import import_memory
from professor.models import Cycle, Outcome, Step, StepOutcome, Trigger, Waiting, job_model
from professor.parameters import keep_recipe, mark_automatic, suggest_parameters, values
from professor.readiness import line_name, readiness
from professor.stopping import StepFailed, Stopped

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
NO_EVALUATION = "no evaluation available"
SHOWN_LOSSES = ("train_loss", "eval_loss")
# The journal step a waiting cycle is at.
WAITING_STEPS = {Waiting.DATASET: Step.DATASET, Waiting.TRAINING: Step.TRAINING,
                 Waiting.REPLICA_TRAINING: Step.TRAINING, Waiting.EVALUATION: Step.EVALUATION,
                 Waiting.REPLICA_EVALUATION: Step.EVALUATION, Waiting.REEVALUATION: Step.EVALUATION}


# ---------------------------------------------------------------------------- one at a time
class CycleBusy(Exception):
    """Another cycle of the line is active; str() says whether it runs or still waits for a worker, and since when."""

    def __init__(self, cycle_id: int | None, since, status: str = "running"):
        self.cycle_id, self.since, self.status = cycle_id, since, status
        super().__init__(describe_holder(cycle_id, since, status))


def describe_holder(cycle_id: int | None, since, status: str) -> str:
    """"a cycle is already running since ... (cycle 7)", or "already queued since ..." while no worker took it."""
    when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M:%S %Z") if since else "a moment ago"
    if status == "queued":
        return f"a cycle is already queued since {when}, waiting for a worker (cycle {cycle_id})"
    return f"a cycle is already running since {when} (cycle {cycle_id})"


def active_cycle(line: str | None = None) -> Cycle | None:
    """The line's active (queued or running) cycle, or None."""
    return Cycle.objects.active().filter(line=line_name(line)).order_by("created_at", "id").first()


def busy(cycle: Cycle) -> CycleBusy:
    """The refusal that names `cycle`: queued since it was created, or running since its claim."""
    if cycle.status == JobStatus.QUEUED:
        return CycleBusy(cycle.pk, cycle.created_at, "queued")
    return CycleBusy(cycle.pk, cycle.started_at or cycle.created_at, "running")


# ---------------------------------------------------------------------------- starting
def start_cycle(user=None, *, trigger: str = Trigger.CLI, line: str | None = None, queue: bool = True,
                principal=None) -> Cycle:
    """Create a cycle and (queue=True) hand it to a worker after commit.

    `user` None is the system itself (the schedule, a command run by the server's owner); through the
    API, `principal` (the token's role) is what must allow it.

    Raises CycleBusy ("a cycle is already running since ...") while another cycle of the line is active:
    the database allows one (one_active_cycle_per_line), so racing triggers cannot both win.
    """
    require_unless_system(principal or user, OPERATE_TRAINING)
    line = line_name(line)
    for _attempt in range(2):  # the holder may end between our refused INSERT and the look-up: try once more
        try:
            with transaction.atomic():
                cycle = Cycle.objects.create(trigger=trigger, line=line,
                                             created_by=user if user is not None and user.is_authenticated else None)
                if queue:
                    lifecycle.enqueue(cycle)
            return cycle
        except IntegrityError:
            holder = active_cycle(line)
            if holder is not None:
                raise busy(holder) from None
    raise CycleBusy(None, None)


def cancel_cycle(cycle_id: int) -> str:
    """Cancel a cycle and the job it waits for. A queued cycle ends at once; a running one ends cancelled
    when its job has ended (job_ended). Returns the cycle's status; raises lifecycle.JobRefused when it ended."""
    status = lifecycle.cancel(Cycle, cycle_id)
    _cancel_job(Cycle.objects.filter(pk=cycle_id).values("waiting_kind", "waiting_id").first())
    return status


def _cancel_job(row: dict | None) -> None:
    model = job_model(row["waiting_kind"]) if row and row["waiting_kind"] else None
    if model is None:
        return
    try:
        lifecycle.cancel(model, row["waiting_id"])
    except lifecycle.JobRefused:
        pass  # it ended meanwhile: its end advances the cycle, which then sees the cancel


# ---------------------------------------------------------------------------- advancing
def run_cycle(cycle_id: int, *, worker: str = "", in_process: bool = False, on_entry=None) -> Cycle | None:
    """Claim the cycle and take its first steps, up to its first job; None when it was not ours to claim.

    in_process=True runs every job of the cycle in this process and returns when the cycle has ended.
    """
    cycle = lifecycle.claim(Cycle, cycle_id, worker=worker, in_process=in_process)
    if cycle is None:
        return None
    _Runner(cycle, on_entry=on_entry).guard(lambda runner: runner.begin())
    if in_process:
        _run_jobs_here(cycle_id, worker or "cycle@localhost", on_entry)
    return Cycle.objects.get(pk=cycle_id)


def job_ended(kind: str, pk: int, *, here: bool = False, on_entry=None) -> None:
    """Job `kind` `pk` ended: the cycle that waits for it takes its next step.

    The hooks call this for cycles on the workers; an in-process cycle is advanced by its own process
    (here=True), unless its job was reaped lost: that process is gone with it. Only one caller takes the
    step: clearing the wait is one conditional update.
    """
    cycle = Cycle.objects.filter(status=JobStatus.RUNNING, waiting_kind=kind, waiting_id=pk).first()
    model = job_model(kind)
    job = model.objects.filter(pk=pk).first() if cycle is not None and model is not None else None
    if cycle is None or (job is not None and not job.is_terminal):
        return
    if cycle.in_process != here and not (job is not None and job.status == JobStatus.LOST):
        return
    if Cycle.objects.filter(pk=cycle.pk, status=JobStatus.RUNNING, waiting_kind=kind, waiting_id=pk).update(
            waiting_for=Waiting.NOTHING, waiting_kind="", waiting_id=None, heartbeat_at=timezone.now()) != 1:
        return
    _Runner(cycle, on_entry=on_entry).guard(lambda runner: runner.resume(cycle.waiting_for, kind, pk, job))


def advance_stranded(now=None) -> list[int]:
    """Cycles on the workers still waiting for a job that ended long ago: its end hook never ran (the process
    that ended the job died after committing it), so take their next step now; returns their ids.

    "Long ago" is half of PROFESSOR_CYCLE_LOST_AFTER_SECONDS: time enough for the hooks of a job's end (a
    succeeded run's version is registered before the cycle goes on), and before the reaper would end the
    cycle as lost. job_ended clears the wait with one conditional update, so a hook that runs after all does
    nothing twice. In-process cycles are advanced by their own process (job_ended's rule).
    """
    ended_before = (now or timezone.now()) - timedelta(seconds=settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS / 2)
    advanced = []
    for cycle in Cycle.objects.filter(status=JobStatus.RUNNING, in_process=False).exclude(waiting_kind=""):
        model = job_model(cycle.waiting_kind)
        if model is not None and model.objects.filter(pk=cycle.waiting_id, status__in=TERMINAL_STATUSES,
                                                      finished_at__lt=ended_before).exists():
            job_ended(cycle.waiting_kind, cycle.waiting_id)
            advanced.append(cycle.pk)
    return advanced


def _run_jobs_here(cycle_id: int, worker: str, on_entry) -> None:
    """Embedded `cycle --wait`: run each job the cycle waits for in this process, then take the next step."""
    from arena.services import run_evaluation
    from curation.services.datasets import run_build
    from training.execution import execute

    runners = {"build": lambda pk: run_build(pk, worker), "run": lambda pk: execute(pk, worker),
               "evaluation": lambda pk: run_evaluation(pk, worker=worker)}
    while True:
        row = Cycle.objects.filter(pk=cycle_id, status=JobStatus.RUNNING).exclude(waiting_kind="").values(
            "waiting_for", "waiting_kind", "waiting_id").first()
        if row is None:
            return
        kind, pk = row["waiting_kind"], row["waiting_id"]
        model = job_model(kind)
        if model.objects.filter(pk=pk, status=JobStatus.QUEUED).exists():
            # A crash around the job (not in it: the job records its own failure) ends the cycle at its step.
            runner = _Runner(Cycle.objects.get(pk=cycle_id), on_entry=on_entry)
            runner.step = WAITING_STEPS.get(row["waiting_for"], runner.step)
            runner.guard(lambda _runner, run=runners[kind], pk=pk: run(pk) and None)
        if model.objects.filter(pk=pk).active().exists():
            time.sleep(POLL_SECONDS)  # another process claimed it first: it ends there
            continue
        job_ended(kind, pk, here=True, on_entry=on_entry)


def note_unclaimed(cycle_id: int, kind: str, pk: int) -> None:
    """Journal once that no worker has taken the job the cycle waits for (the task calls this after a delay)."""
    cycle = Cycle.objects.filter(pk=cycle_id, status=JobStatus.RUNNING, waiting_kind=kind, waiting_id=pk).first()
    model = job_model(kind)
    job = model.objects.filter(pk=pk, status=JobStatus.QUEUED).first() if cycle and model else None
    if job is None:
        return
    waited = (timezone.now() - job.created_at).total_seconds()
    queue = getattr(job, "queue_name", "") or model.queue_for(pk)
    journal.write(cycle_id, WAITING_STEPS.get(cycle.waiting_for, Step.TRAINING), StepOutcome.WAITING,
                  no_worker_message(f"{kind} {pk}", waited, queue))


def _note_unclaimed_later(cycle_id: int, kind: str, pk: int) -> None:
    """Send the task professor.note_unclaimed to run WORKER_WAIT_WARNING_SECONDS from now (a lost message only
    loses the note)."""
    from celery import current_app

    try:
        current_app.send_task("professor.note_unclaimed", args=(cycle_id, kind, pk), queue=Cycle.queue,
                              countdown=settings.WORKER_WAIT_WARNING_SECONDS)
    except Exception:  # the broker is down: the cycle still goes on when its job ends
        logger.warning("could not schedule the no-worker note of cycle %s", cycle_id, exc_info=True)


class _Runner:
    """Takes one cycle's steps from where it stands, up to its next job or its end."""

    def __init__(self, cycle: Cycle, *, on_entry=None):
        self.cycle, self.on_entry = cycle, on_entry
        self.in_process, self.line = cycle.in_process, cycle.line
        self.step = Step.MEMORY  # the step in progress, named when something unexpected breaks it

    # -- plumbing
    def note(self, step: str, outcome: str, message: str, *, numbers=None, links=None, job=None) -> None:
        self.step = step
        entry = journal.write(self.cycle.pk, step, outcome, message, numbers=numbers, links=links, job=job)
        if self.on_entry is not None:
            self.on_entry(entry)

    def progress(self, fraction: float, **fields) -> None:
        lifecycle.report_progress(Cycle, self.cycle.pk, fraction, **fields)

    def wait(self, job, waiting: str) -> None:
        """The cycle waits for `job`; its end (job_ended) takes the next step. Call inside the transaction
        that creates the job, so the job cannot end before the cycle waits for it."""
        Cycle.objects.filter(pk=self.cycle.pk).update(waiting_for=waiting, waiting_kind=job.group_prefix,
                                                      waiting_id=job.pk, heartbeat_at=timezone.now())
        if self.in_process:
            return
        cycle_id, kind, pk = self.cycle.pk, job.group_prefix, job.pk
        transaction.on_commit(lambda: _note_unclaimed_later(cycle_id, kind, pk))

    def after_start(self) -> None:
        """A cancel that came while a step ran reaches the job that step started."""
        if Cycle.objects.filter(pk=self.cycle.pk, cancel_requested=True).exists():
            _cancel_job(Cycle.objects.filter(pk=self.cycle.pk).values("waiting_kind", "waiting_id").first())

    def guard(self, take) -> None:
        """Take the steps (`take(self)` returns (outcome, summary) at the end, None while a job runs); end
        the cycle as a failed step, an early stop or a crash says."""
        try:
            ended = take(self)
        except StepFailed as exc:
            self.note(exc.step, StepOutcome.FAILED, exc.reason, numbers=exc.numbers, links=exc.links)
            lifecycle.fail(Cycle, self.cycle.pk, error=exc.reason, human_error=f"{exc.step}: {exc.reason}",
                           outcome=Outcome.FAILED, summary=f"stopped at {exc.step}: {exc.reason}"[:500])
            return
        except Stopped as exc:
            lifecycle.finish(Cycle, self.cycle.pk, status=exc.status, outcome=exc.outcome, summary=exc.summary[:500],
                             human_error="" if exc.status == JobStatus.SUCCEEDED else exc.summary[:500])
            return
        except Exception as exc:  # a bug must still end the cycle, with the traceback for operators
            logger.exception("cycle %s crashed", self.cycle.pk)
            reason = f"internal error: {type(exc).__name__}: {exc}"
            self.note(self.step, StepOutcome.FAILED, reason)
            lifecycle.fail(Cycle, self.cycle.pk, error="".join(traceback.format_exception(exc)),
                           human_error=reason, outcome=Outcome.FAILED, summary=reason[:500])
            return
        if ended is None:
            self.after_start()
            return
        outcome, summary = ended
        lifecycle.finish(Cycle, self.cycle.pk, outcome=outcome, summary=summary[:500])

    # -- the states
    def begin(self):
        self.import_memory()
        self.check_readiness()
        self.start_dataset()

    def resume(self, waiting: str, kind: str, pk: int, job):
        """The job the cycle waited for (`waiting`) ended: go on from there."""
        self.step = WAITING_STEPS.get(waiting, self.step)
        self.cycle.refresh_from_db()
        if self.cycle.cancel_requested:
            raise Stopped(Outcome.FAILED, "cancelled on request; nothing was promoted", JobStatus.CANCELLED)
        if job is None:
            raise StepFailed(self.step, f"{kind} {pk} was deleted while the cycle waited for it")
        if waiting == Waiting.DATASET:
            return self.start_training(self.dataset_built(job))
        if waiting == Waiting.TRAINING:
            return self.start_evaluation(self.trained(job))
        if waiting == Waiting.EVALUATION:
            return self.judged(self.evaluated(job))
        evaluation = {Waiting.REPLICA_TRAINING: replicas.replica_trained,
                      Waiting.REPLICA_EVALUATION: replicas.replica_evaluated,
                      Waiting.REEVALUATION: replicas.evaluated_again}[waiting](self, job)
        return None if evaluation is None else self.apply(evaluation, self.cycle.version)

    def judged(self, evaluation):
        """The candidate's verdict is in: measure the recipe's seed noise first when it could turn on it."""
        if replicas.start(self, self.cycle.run, self.cycle.version, evaluation):
            return None
        return self.apply(evaluation, self.cycle.version)

    # -- steps
    def import_memory(self) -> None:
        result = import_memory()
        if result.status == "invalid":
            raise StepFailed(Step.MEMORY, result.message, numbers=result.numbers())
        outcome = StepOutcome.OK if result.status == "imported" else StepOutcome.SKIPPED
        self.note(Step.MEMORY, outcome, result.message, numbers=result.numbers())
        self.progress(0.05)

    def check_readiness(self) -> None:
        self.step = Step.READINESS
        decision = readiness(self.line)
        if not decision.ready:
            why = "; ".join(decision.blocking)
            self.note(Step.READINESS, StepOutcome.STOPPED, f"not ready to train: {why}", numbers=decision.numbers)
            Cycle.objects.filter(pk=self.cycle.pk).update(outcome_reason=why[:500])
            raise Stopped(Outcome.NOT_READY, f"not ready to train: {why}")
        self.note(Step.READINESS, StepOutcome.OK, "ready to train: " + "; ".join(decision.reasons),
                  numbers=decision.numbers)
        self.progress(0.1)

    def start_dataset(self) -> None:
        self.step = Step.DATASET
        from curation.services.datasets import start_build

        self._ensure_holdout()
        with transaction.atomic():
            build = start_build(None, name=f"professor-cycle-{self.cycle.pk}",
                                format=settings.PROFESSOR_DATASET_FORMAT, queue=not self.in_process)
            self.note(Step.DATASET, StepOutcome.STARTED, f"building dataset {build.name} (build {build.pk})",
                      links=[link(f"build {build.pk}", build.get_absolute_url())], job=build)
            self.wait(build, Waiting.DATASET)

    def dataset_built(self, build):
        from jobs.models import JobStatus

        if build.status != JobStatus.SUCCEEDED or build.snapshot is None:
            why = build.error or build.human_error or build.status
            raise StepFailed(Step.DATASET, f"the dataset build failed: {why}",
                             links=[link("datasets", reverse("dataset_list"))])
        snapshot = build.snapshot
        numbers = {"rows": snapshot.row_count, "train": snapshot.train_count, "eval": snapshot.eval_count,
                   "sha256": snapshot.sha256}
        links = [link(f"dataset {snapshot.short_hash}", snapshot.get_absolute_url())]
        Cycle.objects.filter(pk=self.cycle.pk).update(dataset=snapshot)
        minimum = settings.MIN_DATASET_EXAMPLES
        if snapshot.row_count < minimum:
            raise StepFailed(Step.DATASET, f"the dataset has {snapshot.row_count} examples; automatic runs need at "
                                           f"least {minimum}", numbers=numbers, links=links)
        self.note(Step.DATASET, StepOutcome.OK, f"built dataset {snapshot.short_hash}: {snapshot.row_count} examples "
                                                f"({snapshot.train_count} train, {snapshot.eval_count} eval)",
                  numbers=numbers, links=links)
        self.progress(0.2)
        return snapshot

    def _ensure_holdout(self) -> None:
        """The line's frozen holdout is taken before the first dataset, so no version trains on it."""
        from arena import services as arena
        from models_registry.models import ModelLine
        from training.base_models import default_base_model

        line, _ = ModelLine.objects.get_or_create(name=self.line, defaults={
            "base_model": default_base_model(), "description": "Trained by the Professor's unattended cycle."})
        if arena.latest_holdout(line) is not None:
            return
        try:
            holdout = arena.freeze_holdout(line)
        except arena.HoldoutError as exc:
            self.note(Step.DATASET, StepOutcome.SKIPPED, f"no holdout taken: {exc}")
            return
        self.note(Step.DATASET, StepOutcome.OK, f"froze holdout v{holdout.version} of line {line.name} "
                                                f"({holdout.items.count()} examples kept out of training)",
                  numbers={"holdout": holdout.version, "items": holdout.items.count()})

    def start_training(self, snapshot) -> None:
        self.step = Step.TRAINING
        from models_registry.models import ModelLine
        from training import services as training

        line = ModelLine.objects.filter(name=self.line).first()
        suggestion = keep_recipe(suggest_parameters(snapshot), line.active_version() if line else None, snapshot)
        hp = {**values(suggestion), "model_line": self.line}
        try:
            with transaction.atomic():
                run = training.start_run(None, dataset=snapshot, hyperparameters=hp)
                mark_automatic(run, suggestion)
                Cycle.objects.filter(pk=self.cycle.pk).update(run=run)
                chosen = ", ".join(f"{name} {value}" for name, value in values(suggestion).items())
                self.note(Step.TRAINING, StepOutcome.STARTED, f"started run {run.pk}: {chosen}",
                          numbers={"run": run.pk, **values(suggestion)}, links=[run_link(run)], job=run)
                self.wait(run, Waiting.TRAINING)
        except ValidationError as exc:
            raise StepFailed(Step.TRAINING, "the run was refused: " + "; ".join(exc.messages)) from None

    def trained(self, run):
        from jobs.models import JobStatus

        to_run = run_link(run)
        metrics = {k: v for k, v in (run.final_metrics or {}).items() if isinstance(v, int | float)}
        if run.status != JobStatus.SUCCEEDED:
            raise StepFailed(Step.TRAINING, f"run {run.pk} {run.status}: {run.human_error or 'see the run page'}",
                             numbers=metrics, links=[to_run])
        version = self.registered_version(run, to_run)
        Cycle.objects.filter(pk=self.cycle.pk).update(version=version)
        version_link = link(f"{version.line.name} {version.label}", version.get_absolute_url())
        losses = "".join(f", {k.replace('_', ' ')} {v:.4f}" for k, v in metrics.items() if k in SHOWN_LOSSES)
        self.note(Step.TRAINING, StepOutcome.OK, f"run {run.pk} succeeded: candidate {version.label}{losses}",
                  numbers=metrics, links=[to_run, version_link])
        self.progress(0.7)
        return version

    def start_evaluation(self, version) -> None:
        self.step = Step.EVALUATION
        from arena import services as arena

        try:
            with transaction.atomic():
                evaluation = arena.start_evaluation(version.line, version)
                Cycle.objects.filter(pk=self.cycle.pk).update(evaluation=evaluation)
                against = evaluation.against.label if evaluation.against_id else "the base model"
                self.note(Step.EVALUATION, StepOutcome.STARTED, f"evaluating {version.label} against {against} "
                                                                f"(evaluation {evaluation.pk})",
                          links=[_evaluation_link(evaluation)], job=evaluation)
                self.wait(evaluation, Waiting.EVALUATION)
        except Exception as exc:
            raise StepFailed(Step.EVALUATION, f"{NO_EVALUATION}: {exc}") from None

    def evaluated(self, evaluation):
        ev_link = _evaluation_link(evaluation)
        if evaluation.status != JobStatus.SUCCEEDED or not evaluation.verdict:
            raise StepFailed(Step.EVALUATION, f"evaluation {evaluation.pk} {evaluation.status}: "
                                              f"{evaluation.human_error or 'no verdict'}", links=[ev_link])
        verdict = evaluation.verdict
        reasons_text = "; ".join(verdict.get("reasons") or [])
        self.note(Step.EVALUATION, StepOutcome.OK, f"verdict {verdict.get('decision')}: {reasons_text}",
                  numbers=_verdict_numbers(verdict), links=[ev_link])
        return evaluation

    def apply(self, evaluation, version) -> tuple[str, str]:
        self.step = Step.POLICY
        from arena import services as arena
        from professor.approval import approval_needed

        line_link = link(f"{version.line.name}", version.line.get_absolute_url())
        promote = evaluation.verdict.get("decision") == "promote"
        why = (replicas.unmeasured_promotion(evaluation.verdict) or approval_needed(evaluation)) if promote else ""
        if why:
            text = f"{version.label} is held for a person to approve its promotion: {why}"
            self.note(Step.POLICY, StepOutcome.OK, text, links=[line_link],
                      numbers={"decision": "promote", "applied": "awaiting approval"})
            return Outcome.HELD, text
        if promote and settings.PROFESSOR_RELEASE == "canary":
            from professor.release import release_as_canary

            released = release_as_canary(self.cycle.pk, version, [line_link])
            if released is not None:
                return released
        try:
            applied = arena.apply_verdict(evaluation, system=True)
        except arena.ArenaError as exc:
            raise StepFailed(Step.POLICY, f"the verdict could not be carried out: {exc}") from None
        outcome = {"promoted": Outcome.PROMOTED, "rejected": Outcome.REJECTED}.get(applied, Outcome.HELD)
        text = {Outcome.PROMOTED: f"{version.label} is now the active version of {version.line.name}",
                Outcome.REJECTED: f"{version.label} was rejected; the active version stays",
                Outcome.HELD: f"{version.label} is held for a person to decide{_replica_hint(evaluation)}"}[outcome]
        self.note(Step.POLICY, StepOutcome.OK, text, numbers={"decision": evaluation.verdict.get("decision"),
                                                              "applied": applied}, links=[line_link])
        return outcome, text

    def registered_version(self, run, to_run: dict):
        """The version registered from the succeeded run.

        The registry's on_run_succeeded hook registers it on the host that trained the run, before the
        Professor's hook (appended later) advances the cycle; so on the workers the version is there, or
        its registration failed, and the cycle never registers one itself: this host may not hold the
        adapter. In process, this host trained the run and registers it (once per run: a version
        already registered by the hook is returned).
        """
        from models_registry.adapters import AdapterError
        from models_registry.models import ModelVersion
        from models_registry.services import RegistryError, register_run_version

        if self.in_process:
            try:
                return register_run_version(run)
            except (AdapterError, RegistryError) as exc:
                raise StepFailed(Step.TRAINING, f"run {run.pk} succeeded but its version could not be registered: "
                                                f"{exc}", links=[to_run]) from None
        version = ModelVersion.objects.filter(training_run=run).select_related("line").first()
        if version is None:
            raise StepFailed(Step.TRAINING, f"run {run.pk} succeeded, but no version was registered from it: the "
                                            "training worker that ran it registers it when the run ends (see that "
                                            "worker's log: \"on_run_succeeded hook\")",
                             numbers={"run": run.pk}, links=[to_run])
        return version


def _evaluation_link(evaluation) -> dict:
    return link(f"evaluation {evaluation.pk}", evaluation.get_absolute_url())


def no_worker_message(name: str, waited: float, queue: str) -> str:
    return f"no worker has taken {name} after {waited:.0f} s: is a worker running for queue {queue}?"


def _replica_hint(evaluation) -> str:
    """A held verdict whose margin did not know the recipe's seed noise: say how to measure it."""
    verdict = evaluation.verdict or {}
    if verdict.get("insufficient") or noise_measured(verdict):
        return ""
    return ("; the training noise of this recipe is not measured: train replicas (the same dataset and "
            f"settings, other seeds; {settings.ARENA_MIN_REPLICAS} in all) and evaluate them, or set ARENA_SEED_SD")


def _verdict_numbers(verdict: dict) -> dict:
    metrics = verdict.get("metrics") or {}
    numbers = {"decision": verdict.get("decision"), "candidate": verdict.get("candidate"),
               "against": verdict.get("against")}
    for key, value in metrics.items():
        if isinstance(value, int | float):
            numbers[key] = value
        elif isinstance(value, dict):
            numbers.update({f"{key}_{k}": v for k, v in value.items() if isinstance(v, int | float)})
    return numbers
