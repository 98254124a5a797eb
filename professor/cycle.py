"""The unattended cycle: memory import -> readiness -> dataset -> training -> Arena -> policy.

start_cycle() creates the Cycle job and takes the lease in one transaction (a second trigger
gets LeaseBusy: "already running since ..."), then queues it; run_cycle() claims it and runs
the steps. Each step writes a journal entry. A step that fails stops the cycle with a plain
reason; promotion happens only in the last step, so a failed cycle never promotes.

in_process=True (embedded `cycle --wait`) executes the training run and the evaluation in the
calling process, as `train --wait` does; otherwise they go to the workers and the cycle waits
for them, saying so in the journal when no worker takes a job.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.roles import OPERATE_TRAINING, needs_role
from jobs import lifecycle
from jobs.models import JobStatus
from professor import journal, lease
from professor.journal import link
from professor.memory import import_memory
from professor.models import Cycle, JournalEntry, Outcome, Step, StepOutcome, Trigger
from professor.parameters import keep_recipe, mark_automatic, suggest_parameters, values
from professor.readiness import line_name, readiness
from professor.replicas import measure_seed_noise

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
HEARTBEAT_EVERY_SECONDS = 5.0
NO_EVALUATION = "no evaluation available"
SHOWN_LOSSES = ("train_loss", "eval_loss")


class StepFailed(Exception):
    """A step could not be done; the cycle stops with this plain reason."""

    def __init__(self, step: str, reason: str, numbers: dict | None = None, links: list | None = None):
        super().__init__(reason)
        self.step, self.reason, self.numbers, self.links = step, reason, numbers or {}, links or []


class Stopped(Exception):
    """The cycle ends early without a failure (not ready, cancelled)."""

    def __init__(self, outcome: str, summary: str, status: str = JobStatus.SUCCEEDED):
        super().__init__(summary)
        self.outcome, self.summary, self.status = outcome, summary, status


# ---------------------------------------------------------------------------- starting
def start_cycle(user=None, *, trigger: str = Trigger.CLI, line: str | None = None, queue: bool = True) -> Cycle:
    """Create a cycle holding the lease and (queue=True) hand it to a worker after commit.

    Raises lease.LeaseBusy ("a cycle is already running since ...") when another holds the lease.
    """
    if user is not None and not user.has_perm(OPERATE_TRAINING):
        raise PermissionDenied(needs_role(OPERATE_TRAINING))
    with transaction.atomic():
        cycle = Cycle.objects.create(trigger=trigger, line=line_name(line),
                                     created_by=user if user is not None and user.is_authenticated else None)
        taken = lease.acquire(cycle.pk)
        if taken.previous_cycle_id:
            _bury(taken.previous_cycle_id, taken.previous_heartbeat_at, cycle.pk)
        if queue:
            lifecycle.enqueue(cycle)
    return cycle


def _bury(previous_id: int, heartbeat_at, cycle_id: int) -> None:
    """The previous holder stopped without releasing the lease (a killed worker): end it as lost."""
    ended = Cycle.objects.filter(pk=previous_id, status__in=(JobStatus.QUEUED, JobStatus.PREPARING,
                                                             JobStatus.RUNNING)).update(
        status=JobStatus.LOST, finished_at=timezone.now(), outcome=Outcome.FAILED,
        human_error=Cycle.lost_message, summary="stopped without finishing; its lease expired")
    when = timezone.localtime(heartbeat_at).strftime("%Y-%m-%d %H:%M:%S") if heartbeat_at else "unknown"
    if ended:  # its own journal says so too, at the step where it stopped (as when the reaper ends it)
        last = JournalEntry.objects.filter(cycle_id=previous_id).order_by("-at", "-id").values_list(
            "step", flat=True).first()
        journal.write(previous_id, last or Step.LEASE, StepOutcome.FAILED,
                      f"lost: its worker stopped reporting (last heartbeat {when}) and cycle {cycle_id} took over "
                      "its expired lease; nothing of it was promoted", numbers={"successor": cycle_id},
                      links=[link(f"cycle {cycle_id}", f"/professor/cycles/{cycle_id}/")])
    journal.write(cycle_id, Step.LEASE, StepOutcome.OK,
                  f"took over an expired lease: cycle {previous_id} stopped without finishing "
                  f"(last heartbeat {when}); nothing of it was promoted",
                  numbers={"previous_cycle": previous_id}, links=[link(f"cycle {previous_id}",
                                                                     f"/professor/cycles/{previous_id}/")])


# ---------------------------------------------------------------------------- running
def run_cycle(cycle_id: int, *, worker: str = "", in_process: bool = False, on_entry=None) -> Cycle | None:
    """Claim the cycle and run its steps to the end; None when it was not ours to claim."""
    cycle = lifecycle.claim(Cycle, cycle_id, worker=worker)
    if cycle is None:
        return None
    runner = _Runner(cycle, in_process=in_process, worker=worker or "cycle@localhost", on_entry=on_entry)
    try:
        runner.run()
    finally:
        lease.release(cycle_id)
    return Cycle.objects.get(pk=cycle_id)


class _Runner:
    def __init__(self, cycle: Cycle, *, in_process: bool, worker: str, on_entry=None):
        self.cycle, self.in_process, self.worker, self.on_entry = cycle, in_process, worker, on_entry
        self.line = cycle.line
        self.step = Step.MEMORY  # the step in progress, named when something unexpected breaks it
        self._beat_at = 0.0

    # -- plumbing
    def note(self, step: str, outcome: str, message: str, *, numbers=None, links=None, job=None) -> None:
        self.step = step
        entry = journal.write(self.cycle.pk, step, outcome, message, numbers=numbers, links=links, job=job)
        if self.on_entry is not None:
            self.on_entry(entry)

    def heartbeat(self, *, force: bool = False) -> None:
        """Renew the lease and the job's sign of life; stop when cancelled or when the lease was lost."""
        now = time.monotonic()
        if not force and now - self._beat_at < HEARTBEAT_EVERY_SECONDS:
            return
        self._beat_at = now
        if not lease.renew(self.cycle.pk):
            raise StepFailed(Step.LEASE, "the cycle lost its lease (it was silent for longer than "
                                         f"{settings.PROFESSOR_LEASE_SECONDS} s and another cycle took over)")
        if lifecycle.heartbeat(Cycle, self.cycle.pk):
            raise Stopped(Outcome.FAILED, "cancelled on request; nothing was promoted", JobStatus.CANCELLED)

    def progress(self, fraction: float, **fields) -> None:
        lifecycle.report_progress(Cycle, self.cycle.pk, fraction, **fields)
        lease.renew(self.cycle.pk)

    def run(self) -> None:
        try:
            self.import_memory()
            self.check_readiness()
            snapshot = self.build_dataset()
            run, version = self.train(snapshot)
            evaluation = self.evaluate(version)
            evaluation = measure_seed_noise(self, run, version, evaluation)  # replicas when the verdict is close
            outcome, summary = self.apply(evaluation, version)
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
            lifecycle.fail(Cycle, self.cycle.pk, error="".join(traceback.format_exception(exc))[-20000:],
                           human_error=reason[:500], outcome=Outcome.FAILED, summary=reason[:500])
            return
        lifecycle.finish(Cycle, self.cycle.pk, outcome=outcome, summary=summary[:500])

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

    def build_dataset(self):
        self.step = Step.DATASET
        from curation.models import BuildStatus
        from curation.services.datasets import run_build, start_build

        self._ensure_holdout()
        build = start_build(None, name=f"professor-cycle-{self.cycle.pk}", format=settings.PROFESSOR_DATASET_FORMAT,
                            queue=False)
        self.note(Step.DATASET, StepOutcome.STARTED, f"building dataset {build.name} (build {build.pk})",
                  links=[link(f"build {build.pk}", build.get_absolute_url())], job=build)
        build = run_build(build.pk)
        self.heartbeat(force=True)
        if build is None or build.status != BuildStatus.SUCCEEDED or build.snapshot is None:
            raise StepFailed(Step.DATASET, f"the dataset build failed: {build.error if build else 'not claimed'}",
                             links=[link("datasets", "/datasets/")])
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
        try:
            from arena import services as arena
        except ImportError:
            return
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

    def train(self, snapshot):
        self.step = Step.TRAINING
        from models_registry.models import ModelLine
        from training import services as training
        from training.models import RunStatus, TrainingRun

        line = ModelLine.objects.filter(name=self.line).first()
        suggestion = keep_recipe(suggest_parameters(snapshot), line.active_version() if line else None, snapshot)
        hp = {**values(suggestion), "model_line": self.line}
        try:
            run = training.start_run(None, dataset=snapshot, hyperparameters=hp)
        except ValidationError as exc:
            raise StepFailed(Step.TRAINING, "the run was refused: " + "; ".join(exc.messages)) from None
        mark_automatic(run, suggestion)
        Cycle.objects.filter(pk=self.cycle.pk).update(run=run)
        run_link = link(f"run {run.pk}", f"/training/runs/{run.pk}/")
        chosen = ", ".join(f"{name} {value}" for name, value in values(suggestion).items())
        self.note(Step.TRAINING, StepOutcome.STARTED, f"started run {run.pk}: {chosen}",
                  numbers={"run": run.pk, **values(suggestion)}, links=[run_link], job=run)
        if self.in_process:
            from training.execution import execute

            with background_heartbeat(self.cycle.pk):
                execute(run.pk, self.worker, on_event=lambda _event: self._beat_during(TrainingRun, run.pk))
            self.heartbeat(force=True)
        else:
            self._wait(TrainingRun, run.pk, f"run {run.pk}", getattr(run, "queue_name", "") or "training",
                       Step.TRAINING, 0.2, 0.7)
        run.refresh_from_db()
        metrics = {k: v for k, v in (run.final_metrics or {}).items() if isinstance(v, int | float)}
        if run.status != RunStatus.SUCCEEDED:
            raise StepFailed(Step.TRAINING, f"run {run.pk} {run.status}: {run.human_error or 'see the run page'}",
                             numbers=metrics, links=[run_link])
        version = self._registered_version(run, run_link)
        Cycle.objects.filter(pk=self.cycle.pk).update(version=version)
        version_link = link(f"{version.line.name} {version.label}", f"/models/{version.line.name}/{version.label}/")
        losses = "".join(f", {k.replace('_', ' ')} {v:.4f}" for k, v in metrics.items() if k in SHOWN_LOSSES)
        self.note(Step.TRAINING, StepOutcome.OK, f"run {run.pk} succeeded: candidate {version.label}{losses}",
                  numbers=metrics, links=[run_link, version_link])
        self.progress(0.7)
        return run, version

    def evaluate(self, version):
        self.step = Step.EVALUATION
        try:
            from arena import services as arena
            from arena.models import Evaluation
        except ImportError:
            raise StepFailed(Step.EVALUATION, f"{NO_EVALUATION}: the Arena is not installed") from None
        try:
            evaluation = arena.start_evaluation(version.line, version)
        except Exception as exc:
            raise StepFailed(Step.EVALUATION, f"{NO_EVALUATION}: {exc}") from None
        Cycle.objects.filter(pk=self.cycle.pk).update(evaluation_ref=evaluation.pk)
        ev_link = link(f"evaluation {evaluation.pk}", f"/models/{version.line.name}/{version.label}/")
        against = evaluation.against.label if evaluation.against_id else "the base model"
        self.note(Step.EVALUATION, StepOutcome.STARTED, f"evaluating {version.label} against {against} "
                                                        f"(evaluation {evaluation.pk})", links=[ev_link],
                  job=evaluation)
        if self.in_process:
            self.heartbeat(force=True)
            with background_heartbeat(self.cycle.pk):
                arena.run_evaluation(evaluation.pk, worker=self.worker)
            self.heartbeat(force=True)
        else:
            self._wait(Evaluation, evaluation.pk, f"evaluation {evaluation.pk}", Evaluation.queue, Step.EVALUATION,
                       0.7, 0.95)
        evaluation.refresh_from_db()
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

        line_link = link(f"{version.line.name}", f"/models/{version.line.name}/")
        why = approval_needed(evaluation) if evaluation.verdict.get("decision") == "promote" else ""
        if why:
            text = f"{version.label} is held for a person to approve its promotion: {why}"
            self.note(Step.POLICY, StepOutcome.OK, text, links=[line_link],
                      numbers={"decision": "promote", "applied": "awaiting approval"})
            return Outcome.HELD, text
        if evaluation.verdict.get("decision") == "promote" and settings.PROFESSOR_RELEASE == "canary":
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

    def _registered_version(self, run, run_link: dict):
        """The version registered from the succeeded run.

        The registry's hook registers it on the host that trained the run, right after the success
        is committed, so a cycle polling from elsewhere can see the success first. On workers the
        cycle waits for that one registration (PROFESSOR_REGISTRATION_WAIT_SECONDS) and never
        registers itself: this host may not hold the adapter. In process, this host trained the run
        and registers it (once per run: a version already registered by the hook is returned).
        """
        from models_registry.adapters import AdapterError
        from models_registry.models import ModelVersion
        from models_registry.services import RegistryError, register_run_version

        if self.in_process:
            try:
                return register_run_version(run)
            except (AdapterError, RegistryError) as exc:
                raise StepFailed(Step.TRAINING, f"run {run.pk} succeeded but its version could not be registered: "
                                                f"{exc}", links=[run_link]) from None
        limit = settings.PROFESSOR_REGISTRATION_WAIT_SECONDS
        began = time.monotonic()
        while True:
            version = ModelVersion.objects.filter(training_run=run).select_related("line").first()
            if version is not None:
                return version
            waited = time.monotonic() - began
            if waited >= limit:
                raise StepFailed(Step.TRAINING, f"run {run.pk} succeeded, but no version was registered from it "
                                                f"within {limit} s: the training worker that ran it registers it "
                                                f"when the run ends (see that worker's log: \"on_run_succeeded hook\")",
                                 numbers={"run": run.pk, "waited_s": round(waited, 1)}, links=[run_link])
            self.heartbeat()
            time.sleep(POLL_SECONDS)

    # -- waiting for another worker
    def _wait(self, model, pk: int, name: str, queue: str, step: str, start: float, end: float) -> None:
        """Poll until the job ends, heartbeating; say so once when no worker has taken it in time."""
        began, warned = time.monotonic(), False
        while True:
            job = model.objects.filter(pk=pk).values("status", "progress").first()
            if job is None or job["status"] not in (JobStatus.QUEUED, JobStatus.PREPARING, JobStatus.RUNNING):
                return
            waited = time.monotonic() - began
            if job["status"] == JobStatus.QUEUED and not warned and waited >= settings.WORKER_WAIT_WARNING_SECONDS:
                warned = True
                self.note(step, StepOutcome.WAITING, no_worker_message(name, waited, queue))
            try:
                self.heartbeat()
            except (Stopped, StepFailed):
                _cancel(model, pk)
                raise
            lifecycle.report_progress(Cycle, self.cycle.pk, start + (end - start) * (job["progress"] or 0.0))
            time.sleep(POLL_SECONDS)

    def _beat_during(self, model, pk: int) -> None:
        """Heartbeat from inside an in-process job (it must not raise there): a cancelled cycle cancels the job."""
        now = time.monotonic()
        if now - self._beat_at < HEARTBEAT_EVERY_SECONDS:
            return
        self._beat_at = now
        lease.renew(self.cycle.pk)
        if lifecycle.heartbeat(Cycle, self.cycle.pk):
            _cancel(model, pk)


def _cancel(model, pk: int) -> None:
    try:
        lifecycle.cancel(model, pk)
    except lifecycle.JobRefused:
        pass  # it ended meanwhile


@contextlib.contextmanager
def background_heartbeat(cycle_id: int):
    """Keep the lease and the cycle alive from a thread while this one is busy in a long call.

    Skipped inside an open transaction or on an in-memory SQLite database (tests), where a second
    connection could not write or would not see the rows.
    """
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.in_atomic_block or "mode=memory" in name or name == ":memory:":
        yield
        return
    stop = threading.Event()
    every = max(1.0, min(30.0, settings.PROFESSOR_LEASE_SECONDS / 4))

    def beat():
        try:
            while not stop.wait(every):
                lease.renew(cycle_id)
                Cycle.objects.filter(pk=cycle_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
        except Exception:
            logger.exception("background heartbeat of cycle %s failed", cycle_id)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"cycle-{cycle_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def no_worker_message(name: str, waited: float, queue: str) -> str:
    return f"no worker has taken {name} after {waited:.0f} s: is a worker running for queue {queue}?"


def _replica_hint(evaluation) -> str:
    """A held verdict whose margin did not know the recipe's seed noise: say how to measure it."""
    verdict = evaluation.verdict or {}
    if verdict.get("insufficient") or (verdict.get("seed_noise") or {}).get("exam") is not None:
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
