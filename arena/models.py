"""Exams, frozen holdouts and evaluations: what every version of a line is measured on.

An exam and a holdout are versioned per line and never change once an evaluation has
used them, so two versions compared on the same exam and holdout versions were asked the
same questions.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job
from models_registry.models import ModelLine, ModelVersion


class Exam(models.Model):
    """One version of a line's exam: a fixed list of items."""

    line = models.ForeignKey(ModelLine, on_delete=models.CASCADE, related_name="exams")
    version = models.PositiveIntegerField()
    content_sha256 = models.CharField(max_length=64, help_text="Hash of the items in canonical JSON.")
    source = models.CharField(max_length=500, blank=True, help_text="File the items were imported from.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["line", "-version"]
        constraints = [models.UniqueConstraint(fields=["line", "version"], name="unique_exam_version_per_line")]

    def __str__(self):
        return f"{self.line.name} exam v{self.version}"

    @property
    def is_used(self) -> bool:
        """True once an evaluation has asked these questions: the items are then frozen."""
        return self.evaluations.exists()


class ExamItem(models.Model):
    """One question: a prompt (text or chat messages), a reference answer and an optional check."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    item_id = models.CharField(max_length=100)
    category = models.CharField(max_length=100, default="general")
    prompt = models.JSONField(help_text='A string, or [{"role": "system|user|assistant", "content": "..."}].')
    reference = models.TextField()
    check_spec = models.JSONField(null=True, blank=True,
                                  help_text='{"type": "exact|contains|regex|python", ...} or empty.')

    class Meta:
        ordering = ["exam", "position"]
        constraints = [models.UniqueConstraint(fields=["exam", "item_id"], name="unique_item_id_per_exam")]

    def __str__(self):
        return f"{self.item_id} ({self.category})"

    def messages(self) -> list[dict]:
        """The prompt as chat messages (a plain string is one user turn)."""
        if isinstance(self.prompt, str):
            return [{"role": "user", "content": self.prompt}]
        return [dict(m) for m in self.prompt]

    def as_record(self) -> dict:
        """The JSONL object this item is imported from and exported to."""
        record = {"id": self.item_id, "category": self.category, "prompt": self.prompt, "reference": self.reference}
        if self.check_spec:
            record["check"] = self.check_spec
        return record


class Holdout(models.Model):
    """A frozen sample of approved curation records, taken once and never trained on."""

    line = models.ForeignKey(ModelLine, on_delete=models.CASCADE, related_name="holdouts")
    version = models.PositiveIntegerField()
    seed = models.IntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["line", "-version"]
        constraints = [models.UniqueConstraint(fields=["line", "version"], name="unique_holdout_version_per_line")]

    def __str__(self):
        return f"{self.line.name} holdout v{self.version}"


class HoldoutItem(models.Model):
    """A copy of one source record's prompt and answer, frozen when the holdout was taken."""

    holdout = models.ForeignKey(Holdout, on_delete=models.CASCADE, related_name="items")
    source_kind = models.CharField(max_length=20, help_text="lesson, commit or conversation")
    source_id = models.PositiveBigIntegerField()
    content_key = models.CharField(max_length=64, db_index=True)
    messages = models.JSONField(help_text="The prompt turns (everything before the final answer).")
    answer = models.TextField()

    class Meta:
        ordering = ["holdout", "id"]
        constraints = [models.UniqueConstraint(fields=["holdout", "content_key"], name="unique_record_per_holdout")]

    def __str__(self):
        return f"{self.source_kind} {self.source_id}"

    @property
    def item_key(self) -> str:
        return f"{self.source_kind}:{self.source_id}"


class Decision(models.TextChoices):
    PROMOTE = "promote", "Promote"
    REJECT = "reject", "Reject"
    HOLD = "hold", "Hold"


class Evaluation(Job):
    """Candidate vs the active version (or the base model) on one exam and holdout version."""

    task_name = "arena.execute_evaluation"
    queue = "training"  # it needs the model, like a training run
    group_prefix = "evaluation"

    line = models.ForeignKey(ModelLine, on_delete=models.CASCADE, related_name="evaluations")
    candidate = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="evaluations")
    against = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text="Empty: the base model with no adapter.")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="evaluations")
    holdout = models.ForeignKey(Holdout, null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations")
    verdict = models.JSONField(default=dict, blank=True, help_text="The verdict object (also in metrics['arena']).")
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    applied = models.CharField(max_length=20, blank=True, help_text="What carrying the verdict out did.")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"evaluation {self.pk}: {self.candidate} vs {self.against_label}"

    @property
    def against_label(self) -> str:
        return self.against.label if self.against_id else "base"

    def get_absolute_url(self) -> str:
        return reverse("arena_evaluation", args=[self.pk])

    def status_extra(self) -> dict:
        return {"decision": self.decision, "candidate": self.candidate.label if self.candidate_id else None,
                "against": self.against_label}

    def to_dict(self) -> dict:
        return {**self.job_dict(), "line": self.line.name, "candidate": self.candidate.label,
                "against": self.against_label, "exam_version": self.exam.version,
                "holdout_version": self.holdout.version if self.holdout_id else None,
                "decision": self.decision, "applied": self.applied, "verdict": self.verdict,
                "url": self.get_absolute_url(), "websocket": self.socket_path}


class ItemKind(models.TextChoices):
    EXAM = "exam", "Exam item"
    HOLDOUT = "holdout", "Holdout example"


class EvaluationItem(models.Model):
    """One question of an evaluation with both models' loss, answer, check result and F1."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    key = models.CharField(max_length=120, help_text="Exam item id, or kind:id of the held-out record.")
    category = models.CharField(max_length=100)
    messages = models.JSONField()
    reference = models.TextField()
    source_kind = models.CharField(max_length=20, blank=True)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    candidate_loss = models.FloatField()
    against_loss = models.FloatField()
    candidate_answer = models.TextField(blank=True)
    against_answer = models.TextField(blank=True)
    candidate_passed = models.BooleanField(null=True, blank=True)
    against_passed = models.BooleanField(null=True, blank=True)
    candidate_f1 = models.FloatField(null=True, blank=True)
    against_f1 = models.FloatField(null=True, blank=True)
    check_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["evaluation", "kind", "id"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "kind", "key"], name="unique_key_per_evaluation")]

    def __str__(self):
        return self.key

    @property
    def difference(self) -> float:
        """Loss improvement of the candidate on this item (positive: the candidate is better)."""
        return self.against_loss - self.candidate_loss
