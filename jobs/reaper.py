"""The one reaper: stale jobs become lost, lost broker messages are sent again, leftovers removed.

Runs periodically (celery beat -> jobs.reap on the default queue) over every concrete Job
model. For each one:
1. claimed jobs silent for `stale_after_seconds()` become lost (jobs.lifecycle.reap_stale);
2. jobs still queued JOBS_REQUEUE_AFTER_SECONDS after they were last sent are sent again:
   the database, not the broker, is the source of truth for queued work;
3. the model's `reap_leftovers(keep)` removes what inactive jobs left behind (trainer
   processes and containers, half-written dataset files);
4. the `resumers` registered for the model take up what a job's end should have set going when the
   process that ended it died before its after-commit hooks ran (the Professor: a cycle still
   waiting for a job long over).
Each step is safe to repeat and safe to run on several hosts at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.utils import timezone

from jobs import lifecycle
from jobs.models import job_models

logger = logging.getLogger(__name__)

# (job model, resume(now) -> ids of the jobs of that model taken up), appended by the apps above (once).
resumers: list[tuple[type, Callable]] = []


def reap(now=None) -> dict:
    """Run the four steps for every job model; returns {model label: {"lost", "requeued", "removed", "resumed"}}."""
    now = now or timezone.now()
    report = {}
    for model in job_models():
        try:
            entry = {"lost": lifecycle.reap_stale(model, now=now),
                     "requeued": lifecycle.sweep_queued(model, older_than=settings.JOBS_REQUEUE_AFTER_SECONDS,
                                                        now=now),
                     "removed": _leftovers(model), "resumed": _stranded(model, now)}
        except Exception:  # one job kind's failure (e.g. its table is not migrated yet) must not stop the others
            logger.exception("reaping %s failed", model._meta.label)
            continue
        if any(entry.values()):
            logger.warning("reaper %s: lost %s, requeued %s, removed %s, resumed %s", model._meta.label,
                           entry["lost"], entry["requeued"], entry["removed"], entry["resumed"])
        report[model._meta.label] = entry
    return report


def _leftovers(model) -> list:
    try:
        keep = set(model.objects.active().values_list("pk", flat=True))
        return list(model.reap_leftovers(keep))
    except Exception:  # one broken cleanup must not stop the others
        logger.exception("removing leftovers of %s failed", model._meta.label)
        return []


def _stranded(model, now) -> list:
    resumed = []
    for owner, resume in list(resumers):
        if owner is model:
            try:
                resumed += resume(now)
            except Exception:  # one broken resumption must not stop the others
                logger.exception("resuming stranded %s failed", model._meta.label)
    return resumed
