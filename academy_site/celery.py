"""The Celery application: the distributed engine for background work.

Queues: "default" (mining, dataset builds, housekeeping) and "training" (one worker
per GPU host, concurrency 1). Configuration comes from Django settings (CELERY_*).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")

app = Celery("academy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
