"""Training runs, their metric points and log, and the workers that execute them."""

import logging

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from curation.models import DatasetSnapshot
from jobs.models import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobQuerySet, JobStatus  # noqa: F401 (re-exported)
from training import capabilities

logger = logging.getLogger(__name__)

# How a run's wait note starts while no registered worker, online or not, could ever take it.
NEVER_PREFIX = "no registered worker could ever take it"


class Backend(models.TextChoices):
    AUTO = "auto", "Automatic (docker if an engine answers, else local)"
    DOCKER = "docker", "Docker container"
    LOCAL = "local", "Local child process"


class TrainingRunQuerySet(JobQuerySet):
    def with_latest_loss(self):
        """Annotate latest_loss and latest_step from each run's newest train point (one query)."""
        newest = MetricPoint.objects.filter(run=models.OuterRef("pk"), kind=MetricPoint.Kind.TRAIN).order_by("-step")
        return self.annotate(latest_loss=models.Subquery(newest.values("loss")[:1]),
                             latest_step=models.Subquery(newest.values("step")[:1]))


class TrainingRun(Job):
    """One LoRA fine-tuning of a base model on a dataset snapshot (a job on the training queue)."""

    task_name = "training.tasks.execute_run"
    queue = "training"
    group_prefix = "run"
    lost_message = "lost: its worker stopped reporting; a retry resumes from its last stored checkpoint, if any"

    dataset = models.ForeignKey(DatasetSnapshot, on_delete=models.PROTECT, related_name="runs")
    base_model = models.CharField(max_length=500, help_text="Hugging Face id or local path.")
    hyperparameters = models.JSONField(default=dict)
    requested_backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.AUTO)
    backend = models.CharField(max_length=10, blank=True, help_text="Backend actually used.")
    device = models.CharField(max_length=200, blank=True, help_text="e.g. cuda:0 (NVIDIA H100), cpu.")
    container_id = models.CharField(max_length=80, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    current_step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    exit_code = models.IntegerField(null=True, blank=True)
    run_dir = models.CharField(max_length=500, blank=True, help_text="Relative to the data root.")
    artifacts = models.JSONField(default=dict, blank=True, help_text="Adapter files with sha256, checkpoints.")
    final_metrics = models.JSONField(default=dict, blank=True)
    requirements = models.JSONField(default=dict, blank=True,
                                    help_text="What it needs: gpu, gpu_memory_gb, memory_gb, backend.")
    queue_name = models.CharField(max_length=100, default="training",
                                  help_text="Celery queue of its capability class (training.capabilities).")
    wait_note = models.CharField(max_length=500, blank=True,
                                 help_text="Why it still waits for a worker, in plain words (shown while queued).")
    setting_reasons = models.JSONField(default=dict, blank=True,
                                       help_text="Where each hyperparameter came from, in plain words: {name: reason}.")

    objects = TrainingRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"run {self.pk} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("run_detail", args=[self.pk])

    def to_dict(self) -> dict:
        """The run as the API returns it."""
        return {
            **self.job_dict(), "dataset": self.dataset.sha256, "base_model": self.base_model,
            "hyperparameters": self.hyperparameters, "requested_backend": self.requested_backend,
            "backend": self.backend, "device": self.device, "container_id": self.container_id, "pid": self.pid,
            "current_step": self.current_step, "total_steps": self.total_steps, "exit_code": self.exit_code,
            "run_dir": self.run_dir, "artifacts": self.artifacts, "final_metrics": self.final_metrics,
            "requirements": self.requirements, "queue": self.queue_name, "url": self.get_absolute_url(),
            "wait_note": self.wait_note if self.status == JobStatus.QUEUED else "",
        }

    @classmethod
    def stale_after_seconds(cls) -> float:
        return settings.TRAINING_LOST_AFTER_SECONDS

    @classmethod
    def queue_for(cls, pk: int) -> str:
        """The run's own capability queue, so a CPU-only worker never receives a GPU-sized run."""
        return cls.objects.filter(pk=pk).values_list("queue_name", flat=True).first() or cls.queue

    @classmethod
    def hold_reason(cls, pk: int) -> str:
        """While no registered worker could ever take the run, the sweep keeps it queued without sending it
        again (a worker would only refuse it). The reason is stored as the run's wait note, and a note of that
        kind is cleared once some worker could take it; returns the note ("" when some worker could)."""
        run = cls.objects.filter(pk=pk, status=JobStatus.QUEUED).only(
            "requirements", "queue_name", "wait_note", "status").first()
        if run is None:
            return ""
        note = run.never_note()
        if note != run.wait_note and (note or run.wait_note.startswith(NEVER_PREFIX)):
            cls.objects.filter(pk=pk, status=JobStatus.QUEUED).update(wait_note=note)
        return note

    def never_note(self) -> str:
        """The note of a run that no registered worker, online or not, could ever take ("" otherwise)."""
        problem = capabilities.capacity_problem(capabilities.requirements_of(self), TrainingWorker.objects.all())
        if not problem:
            return ""
        return (f"{NEVER_PREFIX} ({problem}); it stays queued until a worker that has what it needs registers "
                "(or cancel it and start one that asks for less)")[:500]

    @classmethod
    def reap_leftovers(cls, keep: set) -> list:
        """Trainer processes and containers of runs that are no longer active (on this host)."""
        from training.backends import BACKENDS

        removed = []
        for backend in BACKENDS.values():
            try:
                removed += backend.reap(keep)
            except Exception:  # one engine down must not stop the other backend's cleanup
                logger.exception("reaping %s leftovers failed", backend.kind)
        return removed

    def status_extra(self) -> dict:
        return {"current_step": self.current_step, "total_steps": self.total_steps, "backend": self.backend,
                "device": self.device}


class MetricPoint(models.Model):
    """A training or eval metric at one step; unique per run, kind and step (idempotent ingestion)."""

    class Kind(models.TextChoices):
        TRAIN = "train", "Train"
        EVAL = "eval", "Eval"

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.TRAIN)
    step = models.PositiveIntegerField()
    epoch = models.FloatField(null=True, blank=True)
    loss = models.FloatField(null=True, blank=True)
    learning_rate = models.FloatField(null=True, blank=True)
    tokens_per_s = models.FloatField(null=True, blank=True)
    ts = models.FloatField(help_text="Unix time the trainer emitted it.")

    class Meta:
        ordering = ["run", "kind", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "kind", "step"], name="unique_metric_per_run_step")]

    def __str__(self):
        return f"{self.run_id} {self.kind}@{self.step}"


class RunLogLine(models.Model):
    """A line the trainer printed that is not a protocol event (kept for the log tail)."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    text = models.TextField()
    ts = models.FloatField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_log_line_per_run")]

    def __str__(self):
        return f"{self.run_id}#{self.seq}"


class TrainingWorker(models.Model):
    """A Celery training worker, as last reported by its heartbeat."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.JSONField(default=list)
    devices = models.JSONField(default=list, help_text="GPUs with memory/utilization, or CPU count and RAM.")
    backends = models.JSONField(default=list, help_text="Launch backends available on this worker.")
    current_run = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="Set by a clean stop, cleared by a start.")

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname
