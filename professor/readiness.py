"""Readiness: is there enough new approved data, and has enough time passed, to train again?

The rules (settings, read at each call):
- at least MIN_LESSONS_FOR_TRAINING approved examples (lessons, conversations, commits);
- at least MIN_NEW_EXAMPLES_FOR_TRAINING of them newer than the last run's dataset;
- at least MIN_TRAINING_INTERVAL_HOURS since the last run of the line started;
- no run of the line queued, preparing or running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from curation.models import CommitExample, Conversation, Lesson
from training.models import TrainingRun

SOURCE_MODELS = (Lesson, Conversation, CommitExample)


@dataclass
class Readiness:
    """The decision, one plain sentence per rule, and the numbers behind them."""

    ready: bool
    reasons: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    passed: list[bool] = field(default_factory=list)  # one per reason

    def as_dict(self) -> dict:
        return {"ready": self.ready, "reasons": list(self.reasons), "numbers": dict(self.numbers)}

    @property
    def rows(self) -> list[tuple[str, bool]]:
        """(reason, passed) pairs, for pages."""
        return list(zip(self.reasons, self.passed, strict=True))

    @property
    def blocking(self) -> list[str]:
        """The reasons of the rules that failed."""
        return [reason for reason, ok in zip(self.reasons, self.passed, strict=True) if not ok]


def line_name(line: str | None = None) -> str:
    return line or settings.PROFESSOR_MODEL_LINE


def runs_of_line(line: str | None = None):
    """Runs that register into `line` (a run without model_line goes to MODEL_LINE_DEFAULT)."""
    name = line_name(line)
    query = Q(hyperparameters__model_line=name)
    if name == settings.MODEL_LINE_DEFAULT:
        query |= ~Q(hyperparameters__has_key="model_line")
    return TrainingRun.objects.filter(query)


def approved_count() -> int:
    return sum(model.objects.approved().count() for model in SOURCE_MODELS)


def approved_since(when: datetime) -> int:
    """Approved records created, or approved, after `when`."""
    newer = Q(created_at__gt=when) | Q(reviewed_at__gt=when)
    return sum(model.objects.approved().filter(newer).count() for model in SOURCE_MODELS)


def readiness(line: str | None = None, *, now: datetime | None = None) -> Readiness:
    """Decide whether the line should train now; every rule gives a reason with its numbers."""
    now = now or timezone.now()
    name = line_name(line)
    runs = runs_of_line(name)
    last = runs.select_related("dataset").order_by("-created_at", "-id").first()
    approved = approved_count()
    min_total = settings.MIN_LESSONS_FOR_TRAINING
    min_new = settings.MIN_NEW_EXAMPLES_FOR_TRAINING
    min_hours = settings.MIN_TRAINING_INTERVAL_HOURS
    numbers = {"line": name, "approved": approved, "min_approved": min_total, "min_new": min_new,
               "min_interval_hours": min_hours, "last_run": last.pk if last else None}
    rules: list[tuple[bool, str]] = [(approved >= min_total, f"{approved} approved examples (minimum {min_total})")]

    if last is None:
        numbers.update(new=approved, hours_since_last_run=None)
        rules.append((approved >= min_new, f"{approved} new examples, no run yet (minimum {min_new})"))
        rules.append((True, f"no run of line {name} yet (minimum interval {min_hours} h)"))
    else:
        new = approved_since(last.dataset.created_at)
        started = last.started_at or last.created_at
        hours = (now - started) / timedelta(hours=1)
        numbers.update(new=new, hours_since_last_run=round(hours, 2))
        rules.append((new >= min_new, f"{new} new since run {last.pk} (minimum {min_new})"))
        rules.append((hours >= min_hours, f"last run {_ago(hours)} (minimum {min_hours} h)"))

    active = list(runs.active().values_list("pk", flat=True)[:5])
    numbers["active_runs"] = active
    if active:
        rules.append((False, f"run {active[0]} of line {name} is queued or running"))
    else:
        rules.append((True, f"no run of line {name} queued or running"))
    return Readiness(ready=all(ok for ok, _ in rules), reasons=[text for _, text in rules], numbers=numbers,
                     passed=[ok for ok, _ in rules])


def _ago(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.0f} days ago"
    if hours >= 1:
        return f"{hours:.1f} h ago"
    return f"{hours * 60:.0f} min ago"
