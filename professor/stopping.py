"""Why a cycle stops before its last step: a step that failed, or an early end that is no failure."""

from __future__ import annotations

from jobs.models import JobStatus


class StepFailed(Exception):
    """A step could not be done; the cycle stops with this plain reason."""

    def __init__(self, step: str, reason: str, numbers: dict | None = None, links: list | None = None):
        super().__init__(reason)
        self.step, self.reason, self.numbers, self.links = step, reason, numbers or {}, links or []


class Stopped(Exception):
    """The cycle ends early without a failure (not ready, cancelled)."""

    def __init__(self, outcome: str, summary: str, status: str = JobStatus.SUCCEEDED):
        super().__init__(summary)
        self.outcome, self.summary, self.status = outcome, summary, status
