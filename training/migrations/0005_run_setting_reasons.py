from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('training', '0004_run_wait_note'),
    ]

    operations = [
        migrations.AddField(
            model_name='trainingrun',
            name='setting_reasons',
            field=models.JSONField(
                blank=True, default=dict,
                help_text='Where each hyperparameter came from, in plain words: {name: reason}.'),
        ),
    ]
