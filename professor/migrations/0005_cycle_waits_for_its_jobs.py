"""The cycle waits for its jobs instead of a worker: what it waits for, its evaluation as a foreign key, and one
active cycle per line as a constraint instead of the lease."""

import django.db.models.deletion
from django.db import migrations, models

ACTIVE = ("queued", "preparing", "running")


def copy_evaluation_refs(apps, schema_editor):
    Cycle = apps.get_model("professor", "Cycle")
    Evaluation = apps.get_model("arena", "Evaluation")
    known = set(Evaluation.objects.values_list("pk", flat=True))
    for pk, ref in Cycle.objects.exclude(evaluation_ref=None).values_list("pk", "evaluation_ref"):
        if ref in known:
            Cycle.objects.filter(pk=pk).update(evaluation_id=ref)


def end_extra_active_cycles(apps, schema_editor):
    """Before the constraint: only the newest active cycle of a line stays active (the lease allowed one)."""
    Cycle = apps.get_model("professor", "Cycle")
    newest = {}
    for pk, line in Cycle.objects.filter(status__in=ACTIVE).order_by("created_at", "id").values_list("pk", "line"):
        if line in newest:
            Cycle.objects.filter(pk=newest[line]).update(status="lost", outcome="failed",
                                                         summary="lost: a newer cycle of its line was active")
        newest[line] = pk


class Migration(migrations.Migration):

    dependencies = [
        ('arena', '0001_exams_holdouts_evaluations'),
        ('professor', '0004_journal_jobs_asks_outcome_reason'),
    ]

    operations = [
        migrations.AddField(
            model_name='cycle',
            name='evaluation',
            field=models.ForeignKey(blank=True, help_text='The Arena evaluation whose verdict the cycle follows.',
                                    null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+',
                                    to='arena.evaluation'),
        ),
        migrations.RunPython(copy_evaluation_refs, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='cycle',
            name='evaluation_ref',
        ),
        migrations.AddField(
            model_name='cycle',
            name='in_process',
            field=models.BooleanField(default=False, help_text='Its jobs run in the process that runs the cycle '
                                                               '(embedded `cycle --wait`), which advances it.'),
        ),
        migrations.AddField(
            model_name='cycle',
            name='replicas',
            field=models.JSONField(blank=True, default=dict, help_text='The seed replicas it measures: their plan, '
                                                                       'versions and cost so far.'),
        ),
        migrations.AddField(
            model_name='cycle',
            name='waiting_for',
            field=models.CharField(blank=True, choices=[
                ('', 'Nothing'), ('dataset', 'Its dataset build'), ('training', 'Its training run'),
                ('evaluation', 'Its evaluation'), ('replica_training', "A seed replica's training run"),
                ('replica_evaluation', "A seed replica's evaluation"),
                ('reevaluation', "The candidate's evaluation with the measured noise")], default='',
                help_text='The step that goes on when the job it waits for ends.', max_length=20),
        ),
        migrations.AddField(
            model_name='cycle',
            name='waiting_id',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='cycle',
            name='waiting_kind',
            field=models.CharField(blank=True, help_text='The group prefix of that job.', max_length=20),
        ),
        migrations.RunPython(end_extra_active_cycles, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='cycle',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ACTIVE)),
                                               fields=('line',), name='one_active_cycle_per_line'),
        ),
        migrations.DeleteModel(
            name='Lease',
        ),
    ]
