"""The one job model: every long task (dataset build, git mining, training run, evaluation, cycle) is a Job.

`Job` is abstract: each app subclasses it with the fields of its own work and names the
Celery task that executes it. Every state change goes through jobs.lifecycle (conditional
updates that check exactly one row changed, broadcast on commit); nothing else writes
`status`.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.roles import VIEW_DASHBOARD


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PREPARING = "preparing", "Preparing"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    LOST = "lost", "Lost"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.PREPARING, JobStatus.RUNNING)
# Claimed by a worker: these must show a recent heartbeat or they are reaped as lost.
CLAIMED_STATUSES = (JobStatus.PREPARING, JobStatus.RUNNING)
TERMINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.LOST)
RETRYABLE_STATUSES = (JobStatus.FAILED, JobStatus.LOST)


class JobQuerySet(models.QuerySet):
    def active(self):
        """Queued, preparing or running."""
        return self.filter(status__in=ACTIVE_STATUSES)

    def finished(self):
        """Succeeded, failed, cancelled or lost."""
        return self.filter(status__in=TERMINAL_STATUSES)

    def queued(self):
        return self.filter(status=JobStatus.QUEUED)

    def stale(self, before=None):
        """Claimed jobs whose last sign of life is older than `before` (default: the model's stale_after)."""
        if before is None:
            before = self.model.stale_before()
        return self.filter(status__in=CLAIMED_STATUSES).filter(
            models.Q(heartbeat_at__lt=before) | models.Q(heartbeat_at__isnull=True, started_at__lt=before))


class Job(models.Model):
    """State, progress and outcome shared by every long-running task.

    Subclasses set:
    - `task_name`: the Celery task (by name) that executes one job, called with its pk;
    - `queue`: the Celery queue it goes to ("default" or "training");
    - `group_prefix`: its channel-layer groups are "<group_prefix>.<pk>";
    and may override `stale_after_seconds()` and `status_extra()`.
    """

    task_name: str = ""
    queue: str = "default"
    group_prefix: str = "job"
    # Who may watch it live (/ws/jobs/<group_prefix>/<pk>/).
    view_permission: str = VIEW_DASHBOARD
    lost_message = "lost: its worker stopped reporting (stopped or restarted); start it again"

    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    eta_seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Technical error, for operators.")
    human_error = models.CharField(max_length=500, blank=True, help_text="What went wrong, in plain words.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Last sign of life: when it was last queued (queued), or last reported by its worker.")
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True, help_text="Celery worker hostname that claimed it.")
    attempt = models.PositiveIntegerField(default=0, help_text="How many times a worker claimed it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES

    @property
    def group_name(self) -> str:
        """The channel-layer group every event of this job is broadcast to."""
        return self.group_for(self.pk)

    @classmethod
    def group_for(cls, pk) -> str:
        return f"{cls.group_prefix}.{pk}"

    @property
    def socket_path(self) -> str:
        """The websocket path of this job's live updates (jobs.consumers.JobConsumer)."""
        return f"/ws/jobs/{self.group_prefix}/{self.pk}/"

    @classmethod
    def stale_after_seconds(cls) -> float:
        """A claimed job silent for this long is reaped as lost."""
        return settings.JOBS_STALE_AFTER_SECONDS

    @classmethod
    def stale_before(cls, now=None):
        """The time before which a claimed job's last sign of life makes it stale (now, less stale_after)."""
        return (now or timezone.now()) - timedelta(seconds=cls.stale_after_seconds())

    @classmethod
    def queue_for(cls, pk: int) -> str:
        """The Celery queue job `pk` is sent to: `queue`, unless a subclass routes each job (training runs do)."""
        return cls.queue

    def status_payload(self) -> dict:
        """The `job.status` message pages receive when this job changes state (see jobs_api docs)."""
        return {"type": "job.status", "kind": self.group_prefix, "id": self.pk, "status": self.status,
                "status_label": self.get_status_display(), "progress": self.progress,
                "eta_seconds": self.eta_seconds, "human_error": self.human_error,
                "cancel_requested": self.cancel_requested, "is_terminal": self.is_terminal,
                "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
                "progress_label": self.progress_label, **self.status_extra()}

    @classmethod
    def hold_reason(cls, pk: int) -> str:
        """Why the sweep should not send queued job `pk` again now, in plain words ("": send it) (override)."""
        return ""

    @classmethod
    def lost_fields(cls) -> dict:
        """More fields a job of this kind is given when the reaper marks it lost (override)."""
        return {}

    @classmethod
    def after_lost(cls, pk: int) -> None:
        """Called inside the reaper's transaction once job `pk` was marked lost, e.g. to journal it (override)."""

    @classmethod
    def reap_leftovers(cls, keep: set) -> list:
        """Remove what jobs not in `keep` (the active ones) left behind; returns what was removed (override)."""
        return []

    @property
    def progress_label(self) -> str:
        """Progress in the job's own units, e.g. "120 / 400 commits" (override; "" for none)."""
        return ""

    def status_extra(self) -> dict:
        """Job-specific fields added to every status message (override)."""
        return {}

    def job_dict(self) -> dict:
        """The Job fields as the API returns them; subclasses' to_dict() start from this."""
        return {"id": self.pk, "status": self.status, "progress": self.progress, "eta_seconds": self.eta_seconds,
                "error": self.error, "human_error": self.human_error, "cancel_requested": self.cancel_requested,
                "attempt": self.attempt, "worker": self.worker, "created_at": _iso(self.created_at),
                "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
                "heartbeat_at": _iso(self.heartbeat_at)}


def one_active_job_per(field: str, *, name: str) -> models.UniqueConstraint:
    """At most one active job per value of `field`: a second one's INSERT fails on PostgreSQL and SQLite alike."""
    return models.UniqueConstraint(fields=[field], condition=models.Q(status__in=ACTIVE_STATUSES), name=name)


def _iso(value):
    return value.isoformat() if value else None


def job_models() -> list[type[Job]]:
    """Every concrete Job model of the installed apps (the reaper and the sweep walk these)."""
    from django.apps import apps

    return [model for model in apps.get_models() if issubclass(model, Job) and model.task_name]
