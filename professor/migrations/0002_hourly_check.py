"""Schedule the Professor's periodic check (hourly by default; editable afterwards in the admin)."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Professor: periodic check"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=settings.PROFESSOR_CHECK_MINUTES, period="minutes")
    PeriodicTask.objects.create(
        name=TASK_NAME, task="professor.check", interval=every, queue="default", enabled=True,
        description="Imports new lessons from MEMORY_ROOT, checks readiness and, when ready, builds a dataset, "
                    "trains, evaluates in the Arena and applies the promotion policy.")


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("professor", "0001_cycles_journal_lease"),
        ("django_celery_beat", "0018_improve_crontab_helptext"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
