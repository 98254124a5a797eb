"""The Professor's records: cycles of the unattended loop, their journal, the lease, memory imports."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, JobQuerySet


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


class CycleQuerySet(JobQuerySet):
    def recent(self, limit: int = 20):
        return self.order_by("-created_at", "-id")[:limit]


LOST_SUMMARY = "lost: its worker stopped reporting before the cycle finished; nothing of it was promoted"


class Cycle(Job):
    """One turn of the unattended loop: memory import -> readiness -> dataset -> training -> Arena -> policy."""

    task_name = "professor.run_cycle"
    queue = "default"
    group_prefix = "cycle"
    lost_message = "lost: the worker running this cycle stopped reporting; its lease expired"

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
    evaluation_ref = models.PositiveIntegerField(null=True, blank=True,
                                                    help_text="The Arena evaluation of the candidate.")

    objects = CycleQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"cycle {self.pk} ({self.status})"

    @classmethod
    def stale_after_seconds(cls) -> float:
        return settings.PROFESSOR_LEASE_SECONDS

    @classmethod
    def lost_fields(cls) -> dict:
        """A cycle the reaper ends is over: failed, and it says why, instead of staying "in progress"."""
        return {"outcome": Outcome.FAILED, "summary": LOST_SUMMARY}

    @classmethod
    def after_lost(cls, pk: int) -> None:
        """Journal where it stopped and hand the lease on, so the next trigger need not wait for it to expire."""
        from professor.journal import record_lost

        record_lost(pk)

    def status_extra(self) -> dict:
        return {"outcome": self.outcome, "summary": self.summary}

    def get_absolute_url(self) -> str:
        return reverse("professor_cycle", args=[self.pk])

    def to_dict(self) -> dict:
        return {**self.job_dict(), "trigger": self.trigger, "line": self.line, "outcome": self.outcome,
                "summary": self.summary, "dataset": self.dataset.sha256 if self.dataset_id else None,
                "run": self.run_id, "version": self.version.label if self.version_id else None,
                "evaluation": self.evaluation_ref,
                "journal": [entry.to_dict() for entry in self.journal.all()]}


class Step(models.TextChoices):
    LEASE = "lease", "Lease"
    MEMORY = "memory", "Memory import"
    READINESS = "readiness", "Readiness"
    DATASET = "dataset", "Dataset"
    TRAINING = "training", "Training"
    EVALUATION = "evaluation", "Arena"
    POLICY = "policy", "Policy"


class StepOutcome(models.TextChoices):
    OK = "ok", "Done"
    SKIPPED = "skipped", "Nothing to do"
    WAITING = "waiting", "Waiting"
    STOPPED = "stopped", "Stopped"
    FAILED = "failed", "Failed"


class JournalEntry(models.Model):
    """One line of a cycle's timeline: when, which step, how it went, with numbers and links."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="journal")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    step = models.CharField(max_length=12, choices=Step.choices)
    outcome = models.CharField(max_length=10, choices=StepOutcome.choices)
    message = models.CharField(max_length=1000)
    numbers = models.JSONField(default=dict, blank=True)
    links = models.JSONField(default=list, blank=True, help_text='[{"label": "run 7", "url": "/training/runs/7/"}]')

    class Meta:
        ordering = ["cycle", "at", "id"]
        verbose_name_plural = "journal entries"

    def __str__(self):
        return f"{self.cycle_id} {self.step}: {self.outcome}"

    def to_dict(self) -> dict:
        return {"at": self.at.isoformat(), "step": self.step, "outcome": self.outcome, "message": self.message,
                "numbers": self.numbers, "links": self.links}


class Lease(models.Model):
    """Who may run a cycle now. Held until released or until `expires_at` passes without a heartbeat,
    so a killed worker can never leave it stuck."""

    name = models.CharField(max_length=50, unique=True)
    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    acquired_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"lease {self.name}: {'cycle ' + str(self.cycle_id) if self.cycle_id else 'free'}"

    @property
    def is_held(self) -> bool:
        return bool(self.cycle_id and self.expires_at and self.expires_at > timezone.now())


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
