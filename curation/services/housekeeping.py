"""Ends curation jobs whose worker vanished, so nothing stays "running" forever.

A dataset build or a git mining claimed by a worker that then died (or queued on the
embedded in-memory broker before a restart) would otherwise block its repository and
confuse operators. Builds are short (100k lessons take well under a minute), so a job
with no sign of life for CURATION_STALE_JOB_SECONDS is treated as abandoned.
"""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from curation.models import BuildStatus, DatasetBuild, GitRepository, MiningStatus

logger = logging.getLogger(__name__)

ABANDONED = ("abandoned: no sign of life from its worker for {seconds} s "
             "(the worker stopped or restarted); start it again")
TEMP_PATTERN = ".build-*.tmp"


def fail_stale_jobs(now=None) -> dict:
    """Fail abandoned builds and minings and remove their half-written files; return the counts."""
    now = now or timezone.now()
    seconds = settings.CURATION_STALE_JOB_SECONDS
    cutoff = now - timedelta(seconds=seconds)
    message = ABANDONED.format(seconds=seconds)
    builds = DatasetBuild.objects.filter(
        Q(status=BuildStatus.RUNNING, started_at__lt=cutoff) | Q(status=BuildStatus.QUEUED, created_at__lt=cutoff)
    ).update(status=BuildStatus.FAILED, error=message, finished_at=now)
    minings = GitRepository.objects.filter(
        status__in=(MiningStatus.QUEUED, MiningStatus.RUNNING), active_at__lt=cutoff
    ).update(status=MiningStatus.FAILED, error=message)
    temp_files = _remove_stale_temp_files(cutoff.timestamp())
    if builds or minings or temp_files:
        logger.warning("failed %s abandoned build(s), %s mining(s); removed %s temp file(s)",
                       builds, minings, temp_files)
    return {"builds": builds, "minings": minings, "temp_files": temp_files}


def _remove_stale_temp_files(older_than: float) -> int:
    folder = Path(settings.DATA_DIR) / "datasets"
    removed = 0
    for path in folder.glob(TEMP_PATTERN) if folder.is_dir() else ():
        try:
            if path.stat().st_mtime < older_than:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # a concurrent build renamed or removed it
            continue
    return removed
