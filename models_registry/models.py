"""Model lines, their versions (trained adapters) and the history of which one was active."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from curation.models import DatasetSnapshot
from training.models import TrainingRun
from training.trainer.run import ADAPTER_WEIGHTS


class PromptStyle(models.TextChoices):
    CHAT_TEMPLATE = "chat_template", "Chat template (Jinja, saved with the adapter)"
    ALPACA = "alpaca", "Alpaca (instruction / input / response)"


class ModelLine(models.Model):
    """A family of versions sharing one base model and prompt format, e.g. "venom-coder"."""

    name = models.SlugField(max_length=100, unique=True)
    base_model = models.CharField(max_length=500, help_text="Hugging Face id or local path.")
    prompt_style = models.CharField(max_length=20, choices=PromptStyle.choices, default=PromptStyle.CHAT_TEMPLATE)
    ollama_base = models.CharField(max_length=200, blank=True,
                                   help_text="Ollama model to build on (FROM); empty: the base model.")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("line_detail", args=[self.name])

    @property
    def group_name(self) -> str:
        """The channel-layer group that hears this line's activations."""
        return f"line.{self.name}"

    def to_dict(self) -> dict:
        """The line as the genealogy API shows it (its versions and activations are added by the caller)."""
        active = self.active_version()
        return {"line": self.name, "base_model": self.base_model, "active": active.label if active else None}

    def active_version(self):
        return self.versions.active().first()

    def version_active_at(self, when):
        """The version that was active at time `when` (None if none was), from the activation history."""
        activation = self.activations.changes().filter(created_at__lte=when).order_by("-created_at", "-id").first()
        return activation.to_version if activation else None


class VersionStatus(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"
    REJECTED = "rejected", "Rejected"


class ModelVersionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=VersionStatus.ACTIVE)

    def candidates(self):
        return self.filter(status=VersionStatus.CANDIDATE)


class ModelVersion(models.Model):
    """One trained adapter of a line: v1, v2, ... with the run, dataset and metrics that made it."""

    line = models.ForeignKey(ModelLine, on_delete=models.PROTECT, related_name="versions")
    label = models.CharField(max_length=20, help_text="v1, v2, ... unique within the line.")
    number = models.PositiveIntegerField()
    base_model = models.CharField(max_length=500)
    adapter_dir = models.CharField(max_length=500, help_text="Relative to the data root.")
    adapter_files = models.JSONField(default=dict, help_text="{file name: sha256}")
    prompt = models.JSONField(default=dict, blank=True, help_text="The prompt block of academy_adapter.json.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    training_run = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="model_versions")
    dataset = models.ForeignKey(DatasetSnapshot, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="model_versions")
    metrics = models.JSONField(default=dict, blank=True, help_text='{"training": {}, "eval": {}, "arena": {}}')
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.CANDIDATE,
                              db_index=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["line", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["line", "label"], name="unique_version_label_per_line"),
            models.UniqueConstraint(fields=["line", "number"], name="unique_version_number_per_line"),
            # The invariant the whole registry rests on: one active version per line, at most.
            models.UniqueConstraint(fields=["line"], condition=models.Q(status="active"),
                                    name="one_active_version_per_line"),
            # A run is registered once: the worker's hook and a waiting cycle must end with one version.
            models.UniqueConstraint(fields=["training_run"], name="one_version_per_training_run"),
        ]

    def __str__(self):
        return f"{self.line.name}:{self.label}"

    def get_absolute_url(self) -> str:
        return reverse("version_detail", args=[self.line.name, self.label])

    @property
    def is_active(self) -> bool:
        return self.status == VersionStatus.ACTIVE

    @property
    def adapter_name(self) -> str:
        """Name under which serving loads this adapter next to others."""
        return f"{self.line.name}-{self.label}-{self.pk}"

    @property
    def ollama_name(self) -> str:
        return f"{self.line.name}:{self.label}"

    @property
    def arena_verdict(self) -> dict:
        """The Arena's last verdict on this version ({} when never evaluated)."""
        return (self.metrics or {}).get("arena") or {}

    @property
    def arena_decision(self) -> str:
        return self.arena_verdict.get("decision") or ""

    def to_dict(self) -> dict:
        verdict = self.arena_verdict
        return {"line": self.line.name, "label": self.label, "id": self.pk, "status": self.status,
                "parent": self.parent.label if self.parent_id else None, "base_model": self.base_model,
                "adapter_dir": self.adapter_dir, "training_run": self.training_run_id,
                "dataset": self.dataset.sha256 if self.dataset_id else None,
                "metrics": {k: v for k, v in (self.metrics or {}).items() if k != "arena"},
                "arena": {"decision": verdict.get("decision"), "against": verdict.get("against"),
                          "reasons": verdict.get("reasons", [])} if verdict else None,
                "created_at": self.created_at.isoformat()}

    def active_dict(self) -> dict:
        """What an agent needs to serve this version as its line's active one (GET .../lines/<name>/active)."""
        from models_registry.adapters import data_path

        activation = self.line.activations.changes().filter(to_version=self).order_by("-created_at", "-id").first()
        return {
            "line": self.line.name,
            "version": self.label,
            "version_id": self.pk,
            "base_model": self.base_model,
            "adapter": {"dir": self.adapter_dir, "path": str(data_path(self.adapter_dir)),
                        "files": self.adapter_files,
                        "sha256": self.adapter_files.get(ADAPTER_WEIGHTS, "")},
            "prompt": self.prompt,
            "activated_at": activation.created_at.isoformat() if activation else None,
        }


class ActivationKind(models.TextChoices):
    PROMOTE = "promote", "Promotion"
    ROLLBACK = "rollback", "Rollback"
    # A canary's start and its end (rolled back, no difference, stopped): from = the active
    # version, to = the candidate; the active version does not change. A canary that wins
    # ends with a promotion carrying its numbers.
    CANARY = "canary", "Canary started"
    CANARY_END = "canary_end", "Canary ended"


CANARY_KINDS = (ActivationKind.CANARY, ActivationKind.CANARY_END)


class ActivationQuerySet(models.QuerySet):
    def changes(self):
        """Activations that changed the active version (not a canary's start or end)."""
        return self.exclude(kind__in=CANARY_KINDS)


class Activation(models.Model):
    """A change of a line's active version (append-only history)."""

    line = models.ForeignKey(ModelLine, on_delete=models.CASCADE, related_name="activations")
    from_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    to_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="activations")
    kind = models.CharField(max_length=10, choices=ActivationKind.choices)
    reason = models.TextField(blank=True)
    # The Arena verdict's numbers behind a promotion (copied from the version's metrics["arena"]).
    arena = models.JSONField(default=dict, blank=True)
    policy_overridden = models.BooleanField(default=False,
                                            help_text="Promoted by hand although the Arena held or rejected it.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    note = models.TextField(blank=True, help_text="What went wrong after the change was committed "
                                                  "(Ollama's line tag could not be moved).")
    # A canary's numbers at its start, decision or stop (outcomes per version, the test's interval).
    canary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ActivationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.line.name}: {self.from_version.label if self.from_version else '-'} -> {self.to_version.label}"

    def get_absolute_url(self) -> str:
        return reverse("line_detail", args=[self.line.name])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "from": self.from_version.label if self.from_version_id else None,
                "to": self.to_version.label, "reason": self.reason, "arena": self.arena,
                "policy_overridden": self.policy_overridden, "canary": self.canary or None, "note": self.note,
                "by": self.created_by.username if self.created_by_id else None,
                "at": self.created_at.isoformat()}


class CanaryState(models.TextChoices):
    RUNNING = "running", "Running"
    PROMOTED = "promoted", "Promoted"
    ROLLED_BACK = "rolled_back", "Rolled back"
    NO_DIFFERENCE = "no_difference", "No difference"
    STOPPED = "stopped", "Stopped"


class Canary(models.Model):
    """A candidate serving a share of its line's /v1 traffic beside the active version, until a decision."""

    line = models.ForeignKey(ModelLine, on_delete=models.CASCADE, related_name="canaries")
    candidate = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="canaries")
    baseline = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+",
                                 help_text="The active version when the canary started.")
    share = models.FloatField(help_text="Fraction of conversations (sessions or tokens) the candidate answers.")
    policy = models.JSONField(default=dict, help_text="The test's settings, fixed at the start.")
    state = models.CharField(max_length=15, choices=CanaryState.choices, default=CanaryState.RUNNING, db_index=True)
    reason = models.TextField(blank=True, help_text="Why it ended.")
    numbers = models.JSONField(default=dict, blank=True, help_text="The last reading: outcomes per version, test.")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["line"], condition=models.Q(state="running"),
                                    name="one_running_canary_per_line"),
            models.CheckConstraint(condition=models.Q(share__gt=0) & models.Q(share__lt=1),
                                   name="canary_share_between_0_and_1"),
        ]

    def __str__(self):
        return f"canary {self.line.name}:{self.candidate.label} ({self.state})"

    @property
    def is_running(self) -> bool:
        return self.state == CanaryState.RUNNING


class CanaryPolicy(models.Model):
    """An Admin's per-line overrides of the CANARY_* settings (empty fields: the setting)."""

    line = models.OneToOneField(ModelLine, on_delete=models.CASCADE, related_name="canary_policy")
    share = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    min_effect = models.FloatField(null=True, blank=True)
    max_samples = models.PositiveIntegerField(null=True, blank=True)
    max_error_rate = models.FloatField(null=True, blank=True)
    max_p95_ratio = models.FloatField(null=True, blank=True)
    guard_min_requests = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"canary policy of {self.line.name}"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class ServedCompletion(models.Model):
    """One /v1 chat completion: which version answered, how fast, and later the agent's outcome."""

    completion_id = models.CharField(max_length=64, unique=True)
    line = models.ForeignKey(ModelLine, on_delete=models.CASCADE, related_name="completions")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="completions")
    canary = models.ForeignKey(Canary, null=True, blank=True, on_delete=models.SET_NULL, related_name="completions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    latency_ms = models.FloatField()
    error = models.BooleanField(default=False)
    timed_out = models.BooleanField(default=False)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    score = models.FloatField(null=True, blank=True)
    words = models.TextField(blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["canary", "version"], name="completion_canary_version")]

    def __str__(self):
        return self.completion_id
