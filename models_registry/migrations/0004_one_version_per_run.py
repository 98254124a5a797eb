"""A training run is registered as one version at most (the worker's hook and the Professor's cycle
could both register it), and an activation can carry a note about what failed after its commit.

Runs registered twice before the constraint keep one version: the active one, else one that was
ever activated, else the first. The others stay (they may be archived, evaluated or parents of
later versions) but no longer point at the run, and their notes say which version kept it.
"""

from django.db import migrations, models


def keep_one_version_per_run(apps, schema_editor):
    ModelVersion = apps.get_model("models_registry", "ModelVersion")
    Activation = apps.get_model("models_registry", "Activation")
    run_ids = (ModelVersion.objects.filter(training_run__isnull=False).values("training_run")
               .annotate(count=models.Count("id")).filter(count__gt=1).values_list("training_run", flat=True))
    for run_id in list(run_ids):
        versions = list(ModelVersion.objects.filter(training_run_id=run_id).select_related("line").order_by("id"))
        activated = set(Activation.objects.filter(to_version__in=versions).values_list("to_version_id", flat=True))
        kept = next((v for v in versions if v.status == "active"), None) or next(
            (v for v in versions if v.pk in activated), None) or versions[0]
        for version in versions:
            if version.pk == kept.pk:
                continue
            note = (f"registered twice from training run {run_id}; "
                    f"{kept.line.name} {kept.label} keeps the link to the run")
            version.notes = f"{version.notes}\n{note}" if version.notes else note
            version.training_run_id = None
            version.save(update_fields=["notes", "training_run"])


class Migration(migrations.Migration):

    dependencies = [
        ("models_registry", "0003_rename_lines_that_are_not_slugs"),
    ]

    operations = [
        migrations.RunPython(keep_one_version_per_run, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.UniqueConstraint(fields=("training_run",), name="one_version_per_training_run"),
        ),
        migrations.AddField(
            model_name="activation",
            name="note",
            field=models.TextField(blank=True, help_text="What went wrong after the change was committed "
                                                         "(Ollama's line tag could not be moved)."),
        ),
    ]
