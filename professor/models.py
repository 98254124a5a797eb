"""The Professor's records: cycles of the unattended loop, their journal, memory imports."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from jobs.models import ACTIVE_STATUSES, Job, JobQuerySet, JobStatus, one_active_job_per


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Periodic check"
    CLI = "cli", "Command line"
    WEB = "web", "Dashboard"
    API = "api", "API"
    COMMAND = "command", "Professor command"


class Outcome(models.TextChoices):
    PENDING = "pending", "In progress"
    NOT_READY = "not_ready", "Not ready to train"
    PROMOTED = "promoted", "Promoted"
    REJECTED = "rejected", "Rejected"
    HELD = "held", "Held for a person"
    FAILED = "failed", "Failed"


class Waiting(models.TextChoices):
    """What a cycle waits for: the job it started (named by `waiting_kind`, `waiting_id`) to end."""

    NOTHING = "", "Nothing"
    DATASET = "dataset", "Its dataset build"
    TRAINING = "training", "Its training run"
    EVALUATION = "evaluation", "Its evaluation"
    REPLICA_TRAINING = "replica_training", "A seed replica's training run"
    REPLICA_EVALUATION = "replica_evaluation", "A seed replica's evaluation"
    REEVALUATION = "reevaluation", "The candidate's evaluation with the measured noise"


class CycleQuerySet(JobQuerySet):
    def recent(self, limit: int = 20):
        return self.order_by("-created_at", "-id")[:limit]

    def stale(self, before=None):
        """Claimed cycles silent since `before` whose liveness is not their job's.

        A cycle that waits for a job has no worker of its own: it lives as long as that job is active
        (queued, or heartbeating on its worker), or ended after `before` (its end hook advances the
        cycle). A job that ends lost or failed ends the cycle through that hook. When the hook never came
        (its process died in between), the reaper takes the cycle up after half this time
        (professor.cycle.advance_stranded); it is reaped here only when even that could not move it on.
        """
        if before is None:
            before = self.model.stale_before()
        alive = models.Q(pk__in=[])
        for kind in WAITED_KINDS:
            model = job_model(kind)
            recent = model.objects.filter(models.Q(status__in=ACTIVE_STATUSES) | models.Q(finished_at__gte=before))
            alive |= models.Q(waiting_kind=kind, waiting_id__in=recent.values("pk"))
        return super().stale(before).exclude(alive)


# The kinds of job (group prefixes, job_model()) a cycle waits for: its dataset build, runs and evaluations.
WAITED_KINDS = ("build", "run", "evaluation")


LOST_SUMMARY = "lost: its worker stopped reporting before the cycle finished; nothing of it was promoted"


class Cycle(Job):
    """One turn of the unattended loop: memory import -> readiness -> dataset -> training -> Arena -> policy."""

    task_name = "professor.run_cycle"
    queue = "default"
    group_prefix = "cycle"
    lost_message = "lost: the worker running this cycle stopped reporting"

    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.CLI)
    line = models.CharField(max_length=100)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    summary = models.CharField(max_length=500, blank=True, help_text="What the cycle did, in one sentence.")
    dataset = models.ForeignKey("curation.DatasetSnapshot", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    run = models.ForeignKey("training.TrainingRun", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    version = models.ForeignKey("models_registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    evaluation = models.ForeignKey("arena.Evaluation", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="The Arena evaluation whose verdict the cycle follows.")
    waiting_for = models.CharField(max_length=20, choices=Waiting.choices, blank=True, default=Waiting.NOTHING,
                                   help_text="The step that goes on when the job it waits for ends.")
    waiting_kind = models.CharField(max_length=20, blank=True, help_text="The group prefix of that job.")
    waiting_id = models.PositiveIntegerField(null=True, blank=True)
    in_process = models.BooleanField(default=False, help_text="Its jobs run in the process that runs the cycle "
                                                              "(embedded `cycle --wait`), which advances it.")
    replicas = models.JSONField(default=dict, blank=True, help_text="The seed replicas it measures: their plan, "
                                                                    "versions and cost so far.")
    outcome_reason = models.CharField(max_length=500, blank=True,
                                      help_text="Why it ended so, in a few words (not ready: the failed rules).")

    objects = CycleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # One cycle of a line at a time: a racing second trigger's INSERT fails.
        constraints = [one_active_job_per("line", name="one_active_cycle_per_line")]

    def __str__(self):
        return f"cycle {self.pk} ({self.status})"

    @classmethod
    def stale_after_seconds(cls) -> float:
        return settings.PROFESSOR_CYCLE_LOST_AFTER_SECONDS

    @classmethod
    def lost_fields(cls) -> dict:
        """A cycle the reaper ends is over: failed, and it says why, instead of staying "in progress"."""
        return {"outcome": Outcome.FAILED, "summary": LOST_SUMMARY}


    @property
    def outcome_text(self) -> str:
        """The outcome in words: "not ready: <the failed rules>" for a cycle that did not train."""
        if self.outcome == Outcome.NOT_READY and self.outcome_reason:
            return f"not ready: {self.outcome_reason}"
        return self.get_outcome_display()

    @property
    def status_label(self) -> str:
        """The status in words; a cycle that stopped at readiness did nothing, so it does not read "Succeeded"."""
        if self.status == JobStatus.SUCCEEDED and self.outcome == Outcome.NOT_READY:
            return "Did not train"
        return self.get_status_display()

    def status_payload(self) -> dict:
        return {**super().status_payload(), "status_label": self.status_label}

    def status_extra(self) -> dict:
        return {"outcome": self.outcome, "outcome_text": self.outcome_text, "summary": self.summary}

    def step_job(self) -> dict | None:
        """The job of the step in progress (or the last one): its step, kind, id, page and live state."""
        entry = self.journal.exclude(job_id=None).order_by("-at", "-id").first()
        return entry.job_state() if entry is not None else None

    def get_absolute_url(self) -> str:
        return reverse("professor_cycle", args=[self.pk])

    def to_dict(self, *, job_states: bool = True) -> dict:
        """The API's cycle, with its journal; job_states=False leaves each started job's status to the
        caller (with_job_states over many cycles' entries at once)."""
        journal = [entry.to_dict() for entry in self.journal.all()]
        return {**self.job_dict(), "trigger": self.trigger, "line": self.line, "outcome": self.outcome,
                "summary": self.summary, "dataset": self.dataset.sha256 if self.dataset_id else None,
                "run": self.run_id, "version": self.version.label if self.version_id else None,
                "evaluation": self.evaluation_id, "outcome_text": self.outcome_text,
                "status_label": self.status_label,
                "journal": with_job_states(journal) if job_states else journal}


class Step(models.TextChoices):
    LEASE = "lease", "Lease"  # entries of cycles from before one active cycle per line was a constraint
    MEMORY = "memory", "Memory import"
    READINESS = "readiness", "Readiness"
    DATASET = "dataset", "Dataset"
    TRAINING = "training", "Training"
    EVALUATION = "evaluation", "Arena"
    POLICY = "policy", "Policy"
    ASK = "ask", "Ask"


class StepOutcome(models.TextChoices):
    OK = "ok", "Done"
    STARTED = "started", "Started"
    SKIPPED = "skipped", "Nothing to do"
    WAITING = "waiting", "Waiting"
    STOPPED = "stopped", "Stopped"
    FAILED = "failed", "Failed"


class JournalQuerySet(models.QuerySet):
    def asks(self):
        """Answers to the agent's command words, newest first."""
        return self.filter(step=Step.ASK, cycle=None).order_by("-at", "-id")


# A step's job (dataset build, training run, evaluation) in the journal's words: its status, "Done" once it succeeded.
JOB_STATE_LABELS = {**dict(JobStatus.choices), JobStatus.SUCCEEDED: "Done"}


def job_model(kind: str):
    """The Job model whose group_prefix is `kind` ("build", "run", "evaluation"), or None."""
    from jobs.models import job_models

    return next((model for model in job_models() if model.group_prefix == kind), None)


def job_state(step: str, job) -> dict:
    """A step's job as pages and the API show it: which, where, and its live state in the journal's words."""
    return {"type": "cycle.step", "step": step, "step_label": Step(step).label if step in Step.values else step,
            "kind": job.group_prefix, "id": job.pk, "url": job.get_absolute_url(), "socket": job.socket_path,
            **{k: v for k, v in job.status_payload().items() if k not in ("type", "kind", "id")},
            "state_label": JOB_STATE_LABELS.get(job.status, job.get_status_display()),
            "eta_text": "" if job.is_terminal else eta_text(job.eta_seconds)}


def eta_text(seconds: float | None) -> str:
    """The time left in words, "ETA 4 min 30 s" as job_live.js says it; "" when there is none."""
    if not seconds or seconds <= 0:
        return ""
    seconds = round(seconds)
    hours, minutes, rest = seconds // 3600, seconds % 3600 // 60, seconds % 60
    return "ETA " + (f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s" if minutes else f"{rest} s")


def _job_statuses(pairs) -> dict:
    """{(kind, id): status} for (kind, id) pairs, one query per kind of job."""
    wanted: dict[str, set] = {}
    for kind, pk in pairs:
        wanted.setdefault(kind, set()).add(pk)
    statuses = {}
    for kind, ids in wanted.items():
        model = job_model(kind)
        if model is not None:
            statuses.update({(kind, pk): status for pk, status in
                             model.objects.filter(pk__in=ids).values_list("pk", "status")})
    return statuses


def with_job_states(entries: list[dict]) -> list[dict]:
    """Entry dicts (to_dict()) with their job's current status and its label."""
    statuses = _job_statuses((e["job"]["kind"], e["job"]["id"]) for e in entries if e.get("job"))
    for entry in entries:
        job = entry.get("job")
        if job and (job["kind"], job["id"]) in statuses:
            status = statuses[(job["kind"], job["id"])]
            job.update(status=status, state_label=JOB_STATE_LABELS.get(status, status))
    return entries


def attach_job_states(entries) -> None:
    """Give each entry that started a job `job_status` and `job_state_label` (its job's current state)."""
    entries = [entry for entry in entries if entry.job_id]
    statuses = _job_statuses((entry.job_kind, entry.job_id) for entry in entries)
    for entry in entries:
        status = statuses.get((entry.job_kind, entry.job_id))
        if status is not None:
            entry.job_status, entry.job_state_label = status, JOB_STATE_LABELS.get(status, status)


class JournalEntry(models.Model):
    """One line of a cycle's timeline: when, which step, how it went, with numbers and links.

    A step that starts a job (dataset build, training run, evaluation) names it (`job_kind`,
    `job_id`), so its label shows the job's real state, not "Done" for a run that only started.
    An answer to the agent's command words is an entry without a cycle (step "ask"): who
    asked, the words, and the answer as its message.
    """

    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="journal")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    step = models.CharField(max_length=12, choices=Step.choices)
    outcome = models.CharField(max_length=10, choices=StepOutcome.choices)
    message = models.CharField(max_length=1000)
    numbers = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True, help_text='[{"label": "run 7", "url": "/training/runs/7/"}]')
    job_kind = models.CharField(max_length=20, blank=True, help_text="The group prefix of the job it started.")
    job_id = models.PositiveIntegerField(null=True, blank=True)
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    asker = models.CharField(max_length=150, blank=True, help_text='Who asked: a user name, "token <name>" '
                                                                   'or "command line".')
    words = models.CharField(max_length=500, blank=True, help_text="What was asked.")

    objects = JournalQuerySet.as_manager()

    class Meta:
        ordering = ["cycle", "at", "id"]
        verbose_name_plural = "journal entries"

    def __str__(self):
        return f"{self.cycle_id or 'ask'} {self.step}: {self.outcome}"

    @property
    def job(self):
        """The job this entry started, or None (deleted, or none)."""
        model = job_model(self.job_kind) if self.job_id else None
        return model.objects.filter(pk=self.job_id).first() if model is not None else None

    def job_state(self) -> dict | None:
        job = self.job
        return job_state(self.step, job) if job is not None else None

    @property
    def ask_label(self) -> str:
        return {StepOutcome.OK: "Answered", StepOutcome.FAILED: "Refused"}.get(self.outcome, "Not done")

    def to_dict(self) -> dict:
        data = {"at": self.at.isoformat(), "step": self.step, "outcome": self.outcome, "message": self.message,
                "numbers": self.numbers, "links": self.links,
                "job": {"kind": self.job_kind, "id": self.job_id} if self.job_id else None}
        if self.step == Step.ASK:
            data.update(asker=self.asker, words=self.words, answer=self.message)
        return data


class MemoryImport(models.Model):
    """The last import of the agent's lesson store under MEMORY_ROOT (one row per file path)."""

    path = models.CharField(max_length=1000, unique=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    mtime = models.FloatField(default=0.0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.path} @ {self.sha256[:12]}"


class ParameterSource(models.TextChoices):
    AUTOMATIC = "automatic", "Chosen by the Professor"
    MANUAL = "manual", "Started by a person"


class ParameterChoice(models.Model):
    """Why each hyperparameter of a run has its value, and any warning about the run's dataset."""

    run = models.OneToOneField("training.TrainingRun", on_delete=models.CASCADE, related_name="parameter_choice")
    source = models.CharField(max_length=10, choices=ParameterSource.choices, default=ParameterSource.MANUAL)
    reasons = models.JSONField(default=dict, help_text="{hyperparameter: reason}")
    suggested = models.JSONField(default=dict, blank=True, help_text="{hyperparameter: suggested value}")
    warnings = models.JSONField(default=list, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Whose memory the values were fitted to.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"parameters of run {self.run_id} ({self.source})"
