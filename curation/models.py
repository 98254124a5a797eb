"""Curation records: the agent's raw experience and the dataset snapshots made from it.

Three kinds of source record (lessons, git commit examples, task conversations) share
the review workflow; a DatasetSnapshot is an immutable, content-addressed JSONL file
built from the approved ones.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ReviewableQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(review_status=ReviewStatus.APPROVED)

    def pending(self):
        return self.filter(review_status=ReviewStatus.PENDING)


class Reviewable(models.Model):
    """Review state shared by every source record."""

    review_status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING,
                                     db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    # Stable hash of the normalised content: re-importing the same record creates nothing.
    content_key = models.CharField(max_length=64, unique=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # What the secret scrubber removed before storing: counts per kind and marker positions, never values.
    secret_findings = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReviewableQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_approved(self) -> bool:
        return self.review_status == ReviewStatus.APPROVED


class Lesson(Reviewable):
    """A situation the agent met and what it did about it."""

    lesson_id = models.CharField(max_length=200, blank=True, db_index=True, help_text="The agent's own id.")
    situation = models.TextField()
    action = models.TextField()
    result = models.TextField(blank=True)
    feedback = models.TextField(blank=True)
    origin = models.CharField(max_length=20, default="api", help_text="api, upload, cli or memory import.")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self):
        return self.lesson_id or f"lesson {self.pk}"


class Conversation(Reviewable):
    """A successful multi-turn task conversation between the agent and its orchestrator."""

    task_id = models.CharField(max_length=200, blank=True, db_index=True)
    title = models.CharField(max_length=300, blank=True)
    messages = models.JSONField(help_text='[{"role": "system|user|assistant", "content": "..."}]')
    succeeded = models.BooleanField(default=True)
    origin = models.CharField(max_length=20, default="api")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self):
        return self.title or self.task_id or f"conversation {self.pk}"


class MiningStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class GitRepository(models.Model):
    """A local git repository (under an allowed root) mined for (diff -> message) examples."""

    name = models.CharField(max_length=200)
    path = models.CharField(max_length=1000, unique=True)
    branch = models.CharField(max_length=200, blank=True, help_text="Empty: the checked-out HEAD.")
    last_mined_sha = models.CharField(max_length=40, blank=True)
    last_mined_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=MiningStatus.choices, default=MiningStatus.IDLE)
    active_at = models.DateTimeField(null=True, blank=True,
                                             help_text="Last sign of life of a mining: queued, started or progressed.")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="Counts of the last mining: kept, skipped by reason.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "git repositories"

    def __str__(self):
        return self.name

    @property
    def is_mining(self) -> bool:
        return self.status in (MiningStatus.QUEUED, MiningStatus.RUNNING)


class CommitExample(Reviewable):
    """One mined commit: its (capped) diff and its message."""

    repository = models.ForeignKey(GitRepository, on_delete=models.CASCADE, related_name="examples")
    commit_sha = models.CharField(max_length=40)
    author_name = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    diff = models.TextField()
    files_changed = models.PositiveIntegerField(default=0)
    diff_truncated = models.BooleanField(default=False)
    commit_type = models.CharField(max_length=20, blank=True, help_text="Conventional Commit type, e.g. feat, fix.")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "commit_sha"], name="unique_commit_per_repository"),
        ]

    def __str__(self):
        return f"{self.commit_sha[:10]} {self.message.splitlines()[0][:60] if self.message else ''}"


class DatasetFormat(models.TextChoices):
    ALPACA = "alpaca", "Alpaca (instruction, input, output)"
    SHAREGPT = "sharegpt", "ShareGPT (conversations)"
    MESSAGES = "messages", "Chat messages (role, content)"


class BuildStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DatasetBuild(models.Model):
    """A request to build a snapshot; it records progress, the funnel and any failure."""

    name = models.CharField(max_length=200)
    format = models.CharField(max_length=10, choices=DatasetFormat.choices)
    config = models.JSONField(default=dict, help_text="Sources, filters, dedup and split settings.")
    status = models.CharField(max_length=10, choices=BuildStatus.choices, default=BuildStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    funnel = models.JSONField(default=list, blank=True)
    snapshot = models.ForeignKey("DatasetSnapshot", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="builds")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED)


class DatasetSnapshot(models.Model):
    """An immutable JSONL file addressed by its sha256; rows carry their source references."""

    name = models.CharField(max_length=200, db_index=True)
    sha256 = models.CharField(max_length=64, unique=True)
    format = models.CharField(max_length=10, choices=DatasetFormat.choices)
    path = models.CharField(max_length=500, help_text="Relative to the data root.")
    row_count = models.PositiveIntegerField()
    train_count = models.PositiveIntegerField()
    eval_count = models.PositiveIntegerField()
    config = models.JSONField(default=dict)
    stats = models.JSONField(default=dict)
    funnel = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} {self.sha256[:12]}"

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]
