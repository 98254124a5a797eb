"""The Celery application: the distributed engine for background work.

Queues: "default" (mining, dataset builds, housekeeping) and "training" (one worker
per GPU host, concurrency 1). Configuration comes from Django settings (CELERY_*).
"""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")

app = Celery("academy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _own_database_pool(**kwargs):
    """A forked worker process opens its own connection pool (academy_site.database)."""
    from academy_site.database import forget_inherited_pool

    forget_inherited_pool()


@setup_logging.connect
def _use_django_logging(**kwargs):
    """Workers log through settings.LOGGING (levels, and the filter that redacts secrets).

    Connecting this signal stops Celery from replacing the root handlers with its own.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
