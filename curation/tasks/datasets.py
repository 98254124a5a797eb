"""Celery tasks for dataset builds."""

from celery import shared_task

from curation.services.datasets import run_build

__all__ = ["build_dataset_task"]


@shared_task(name="curation.build_dataset", bind=True, acks_late=True)
def build_dataset_task(self, build_id: int) -> str | None:
    """Run a queued dataset build; repeating it is harmless (the build is claimed first)."""
    build = run_build(build_id, worker=getattr(self.request, "hostname", None) or "")
    return build.status if build else None
