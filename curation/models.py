"""Curation records: the agent's raw experience and the dataset snapshots made from it.

Three kinds of source record (lessons, git commit examples, task conversations) share
the review workflow; a DatasetSnapshot is an immutable, content-addressed JSONL file
built from the approved ones.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from curation.snapshots import remove_stale_temp_files
from jobs.models import Job, one_active_job_per


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


class GitRepository(models.Model):
    """A local git repository (under an allowed root) mined for (diff -> message) examples."""

    name = models.CharField(max_length=200)
    path = models.CharField(max_length=1000, unique=True)
    branch = models.CharField(max_length=200, blank=True, help_text="Empty: the checked-out HEAD.")
    last_mined_sha = models.CharField(max_length=40, blank=True)
    last_mined_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "git repositories"

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("repository_detail", args=[self.pk])

    def to_dict(self) -> dict:
        """The repository as the API returns it, with the state of its newest mining."""
        mining = self.latest_mining
        return {
            "id": self.pk, "name": self.name, "path": self.path, "branch": self.branch,
            "status": mining.status if mining else "idle",
            "is_mining": bool(mining and mining.is_active),
            "progress_done": mining.progress_done if mining else 0,
            "progress_total": mining.progress_total if mining else 0,
            "error": mining.error if mining else "",
            "last_mined_sha": self.last_mined_sha,
            "last_mined_at": self.last_mined_at.isoformat() if self.last_mined_at else None,
            "stats": mining.stats if mining else {},
            "mining": mining.to_dict() if mining else None,
            "url": self.get_absolute_url(),
        }

    @property
    def latest_mining(self) -> "MiningJob | None":
        """The newest mining of this repository (active or finished), if any."""
        return self.minings.order_by("-created_at", "-id").first()

    @property
    def is_mining(self) -> bool:
        return self.minings.active().exists()


class MiningJob(Job):
    """One mining of a repository: reads the commits added since the last one into CommitExamples."""

    task_name = "curation.execute_mining"
    group_prefix = "mining"

    repository = models.ForeignKey(GitRepository, on_delete=models.CASCADE, related_name="minings")
    progress_done = models.PositiveIntegerField(default=0, help_text="Commits read so far.")
    progress_total = models.PositiveIntegerField(default=0, help_text="Commits to read.")
    stats = models.JSONField(default=dict, blank=True, help_text="Counts: kept, skipped by reason.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [one_active_job_per("repository", name="one_active_mining_per_repository")]

    def __str__(self):
        return f"mining {self.pk} of {self.repository_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("repository_detail", args=[self.repository_id])

    @classmethod
    def stale_after_seconds(cls) -> float:
        return settings.CURATION_STALE_JOB_SECONDS

    @property
    def progress_label(self) -> str:
        return f"{self.progress_done} / {self.progress_total} commits" if self.progress_total else ""

    def status_extra(self) -> dict:
        return {"progress_done": self.progress_done, "progress_total": self.progress_total,
                "repository": self.repository_id, "stats": self.stats if self.is_terminal else {}}

    def to_dict(self) -> dict:
        return {**self.job_dict(), "repository": self.repository_id, "progress_done": self.progress_done,
                "progress_total": self.progress_total, "stats": self.stats}


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


class DatasetBuild(Job):
    """A request to build a snapshot; it records progress, the funnel and any failure."""

    task_name = "curation.build_dataset"
    group_prefix = "build"

    name = models.CharField(max_length=200)
    format = models.CharField(max_length=10, choices=DatasetFormat.choices)
    config = models.JSONField(default=dict, help_text="Sources, filters, dedup and split settings.")
    funnel = models.JSONField(default=list, blank=True)
    snapshot = models.ForeignKey("DatasetSnapshot", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="builds")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("dataset_build_detail", args=[self.pk])

    @classmethod
    def stale_after_seconds(cls) -> float:
        return settings.CURATION_STALE_JOB_SECONDS

    @classmethod
    def reap_leftovers(cls, keep: set) -> list:
        """Half-written snapshot files older than the stale limit (their build died mid-write)."""
        return remove_stale_temp_files(older_than_seconds=cls.stale_after_seconds())

    def to_dict(self) -> dict:
        """The build as the API returns it."""
        return {**self.job_dict(), "name": self.name, "format": self.format, "config": self.config,
                "funnel": self.funnel, "dataset": self.snapshot.sha256 if self.snapshot_id else None,
                "url": reverse("api_dataset_build", args=[self.pk]), "page": self.get_absolute_url()}

    def status_extra(self) -> dict:
        extra = {"snapshot": self.snapshot_id}
        if self.snapshot_id:
            extra["snapshot_url"] = self.snapshot.get_absolute_url()
        if self.is_terminal:
            extra["funnel"] = self.funnel
        return extra


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

    def get_absolute_url(self) -> str:
        return reverse("dataset_detail", args=[self.sha256])

    def to_dict(self, *, full: bool = False) -> dict:
        """The snapshot as the API returns it (with its configuration, stats and funnel when full)."""
        data = {
            "sha256": self.sha256, "name": self.name, "format": self.format,
            "rows": self.row_count, "train": self.train_count, "eval": self.eval_count,
            "created_at": self.created_at.isoformat(), "url": self.get_absolute_url(),
            "download_url": reverse("api_dataset_download", args=[self.sha256]),
        }
        if full:
            data.update(config=self.config, stats=self.stats, funnel=self.funnel)
        return data

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


class ExampleFeedback(models.Model):
    """What training and evaluation learned about one source record, for reviewers to re-check first.

    Written by training (each example's loss after the run that trained on it) and by the Arena
    (a held-out record's loss and answer F1); the run and evaluation are plain ids because
    curation sits below both apps.
    """

    source_kind = models.CharField(max_length=20, help_text="lesson, commit or conversation")
    source_id = models.PositiveBigIntegerField()
    train_loss = models.FloatField(null=True, blank=True, help_text="Mean per-token loss after training on it.")
    train_loss_percentile = models.FloatField(null=True, blank=True, help_text="0..1 within its run.")
    train_run_id = models.PositiveBigIntegerField(null=True, blank=True)
    holdout_loss = models.FloatField(null=True, blank=True)
    holdout_f1 = models.FloatField(null=True, blank=True)
    holdout_evaluation_id = models.PositiveBigIntegerField(null=True, blank=True)
    hard = models.BooleanField(default=False, db_index=True, help_text="The model finds this hard.")
    likely_mislabelled = models.BooleanField(default=False, db_index=True)
    reasons = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-train_loss"]
        constraints = [models.UniqueConstraint(fields=["source_kind", "source_id"], name="one_feedback_per_record")]

    def __str__(self):
        return f"{self.source_kind} {self.source_id}"
