"""The one way a worker runs a job: claim -> run -> succeeded | failed | cancelled.

A subclass names its `model` and writes `run(job, progress)`; `JobRunner(pk, worker).handle()`
does the rest, so a repeated task, a cancel and a crash end every kind of job the same way:

- the claim is the lifecycle's conditional update, so a second delivery does nothing (None);
- `progress(fraction, **fields)` reports through the lifecycle (a heartbeat too), at most every
  `progress_every` seconds, and raises JobCancelled once a cancel was requested: the job ends cancelled;
- JobFailed is a failure the job expects (bad input, a refused resource): its words are the human error;
- any other exception is a crash: the traceback goes to the worker's log, the job keeps the
  exception's one line as its error and `crash_message()` as its plain-words one.

How long the stored texts may be is decided once, in jobs.lifecycle (ERROR_CHARS, HUMAN_ERROR_CHARS).
"""

from __future__ import annotations

import logging
import time

from jobs import lifecycle
from jobs.models import Job, JobStatus

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """The job's cancel flag was set; raised from `progress` (or by run() itself) to stop the work."""


class JobFailed(Exception):
    """A failure the job expects: `human_error` says it in plain words, `error` (default: the same) for
    operators, `fields` are stored with the failure (e.g. a build's funnel)."""

    def __init__(self, human_error: str, *, error: str = "", **fields):
        super().__init__(human_error)
        self.human_error = human_error
        self.error = error or human_error
        self.fields = fields


class Progress:
    """The `progress(fraction, **fields)` callable a runner hands to run().

    A report is stored through jobs.lifecycle.report_progress (`eta_seconds` and `label` as it takes
    them, other fields stored on the job) and doubles as a heartbeat; reports closer than `every`
    seconds are skipped, except the last one (fraction 1). Each stored report checks the cancel flag.
    """

    def __init__(self, model: type[Job], pk: int, *, every: float):
        self.model, self.pk, self.every = model, pk, every
        self._last: float | None = None

    def __call__(self, fraction: float, **fields) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.every and fraction < 1.0:
            return
        self._last = now
        lifecycle.report_progress(self.model, self.pk, round(fraction, 3), **fields)
        if lifecycle.cancel_requested(self.model, self.pk):
            raise JobCancelled()


class JobRunner:
    """Runs one job of `model`; subclasses write run() and may override the hooks below."""

    model: type[Job]
    progress_every: float = 0.2  # seconds between two stored progress reports

    def __init__(self, pk: int, worker: str = ""):
        self.pk = pk
        self.worker = worker

    def handle(self) -> Job | None:
        """Claim the job and run it to its end; the job as it ended, or None when it was not ours to run."""
        job = self.claim()
        if job is None:
            return None
        try:
            self.succeed(job, self.run(job, Progress(self.model, job.pk, every=self.progress_every)))
        except JobCancelled:
            lifecycle.finish(self.model, job.pk, status=JobStatus.CANCELLED, human_error="cancelled")
        except JobFailed as exc:
            lifecycle.fail(self.model, job.pk, error=exc.error, human_error=exc.human_error, **exc.fields)
        except Exception as exc:  # a bug must still end the job
            logger.exception("%s %s crashed%s", self.model._meta.verbose_name, job.pk, self.crash_details(exc))
            lifecycle.fail(self.model, job.pk, error=f"{type(exc).__name__}: {exc}",
                           human_error=self.crash_message(exc))
        return self.model.objects.get(pk=job.pk)

    # ------------------------------------------------------------------ hooks
    def claim(self) -> Job | None:
        """queued -> running for this worker (override to claim with other fields or status)."""
        return lifecycle.claim(self.model, self.pk, worker=self.worker)

    def run(self, job: Job, progress: Progress):
        """Do the work; return the outcome that succeed() stores."""
        raise NotImplementedError

    def succeed(self, job: Job, outcome) -> None:
        """Store the outcome of a run that ended well: by default, fields of the job (override to write more
        in the same transaction, or to do nothing when run() ended the job itself)."""
        lifecycle.finish(self.model, job.pk, **(outcome or {}))

    def crash_message(self, exc: Exception) -> str:
        """What a crash says in plain words (override)."""
        return f"the {self.model._meta.verbose_name} failed on an internal error; see the error details"

    def crash_details(self, exc: Exception) -> str:
        """More for the log than the traceback of `exc` (e.g. a child process's traceback) (override)."""
        return ""
