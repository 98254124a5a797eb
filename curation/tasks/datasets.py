"""Celery tasks for dataset builds."""

from celery import shared_task

from curation.services.datasets import run_build

__all__ = ["build_dataset_task"]


@shared_task(name="curation.build_dataset")
def build_dataset_task(build_id: int) -> str | None:
    """Run a queued dataset build; repeating it is harmless (the build is claimed first)."""
    build = run_build(build_id)
    return build.status if build else None
