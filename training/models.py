"""Training runs, their metric points and log, and the workers that execute them."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from curation.models import DatasetSnapshot


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PREPARING = "preparing", "Preparing"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    LOST = "lost", "Lost"


TERMINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.LOST)
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.PREPARING, RunStatus.RUNNING)


class Backend(models.TextChoices):
    AUTO = "auto", "Automatic (docker if an engine answers, else local)"
    DOCKER = "docker", "Docker container"
    LOCAL = "local", "Local child process"


class TrainingRunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def finished(self):
        return self.filter(status__in=TERMINAL_STATUSES)

    def with_latest_loss(self):
        """Annotate latest_loss and latest_step from each run's newest train point (one query)."""
        newest = MetricPoint.objects.filter(run=models.OuterRef("pk"), kind=MetricPoint.Kind.TRAIN).order_by("-step")
        return self.annotate(latest_loss=models.Subquery(newest.values("loss")[:1]),
                             latest_step=models.Subquery(newest.values("step")[:1]))


class TrainingRun(models.Model):
    """One LoRA fine-tuning of a base model on a dataset snapshot."""

    dataset = models.ForeignKey(DatasetSnapshot, on_delete=models.PROTECT, related_name="runs")
    base_model = models.CharField(max_length=500, help_text="Hugging Face id or local path.")
    hyperparameters = models.JSONField(default=dict)
    requested_backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.AUTO)
    backend = models.CharField(max_length=10, blank=True, help_text="Backend actually used.")
    device = models.CharField(max_length=200, blank=True, help_text="e.g. cuda:0 (NVIDIA H100), cpu.")
    worker = models.CharField(max_length=200, blank=True, help_text="Celery worker hostname that ran it.")
    container_id = models.CharField(max_length=80, blank=True)
    pid = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    eta_seconds = models.FloatField(null=True, blank=True)
    current_step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Technical error, with the last log lines.")
    human_error = models.CharField(max_length=500, blank=True, help_text="What went wrong, in plain words.")
    run_dir = models.CharField(max_length=500, blank=True, help_text="Relative to the data root.")
    artifacts = models.JSONField(default=dict, blank=True, help_text="Adapter files with sha256, checkpoints.")
    final_metrics = models.JSONField(default=dict, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TrainingRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"run {self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def group_name(self) -> str:
        """The channel-layer group every event of this run is broadcast to."""
        return f"run.{self.pk}"


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

    class Meta:
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname
