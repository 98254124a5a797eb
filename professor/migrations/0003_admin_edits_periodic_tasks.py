"""Let the Admin role edit periodic tasks (the Professor's check) in the Django admin."""

from django.db import migrations

PERMISSIONS = ["view_periodictask", "change_periodictask", "view_intervalschedule", "add_intervalschedule",
               "change_intervalschedule", "view_crontabschedule", "add_crontabschedule", "change_crontabschedule"]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("django_celery_beat")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Admin")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="django_celery_beat",
                                                     codename__in=PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Admin").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="django_celery_beat",
                                                            codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [("professor", "0002_hourly_check"), ("accounts", "0003_admin_manages_users")]

    operations = [migrations.RunPython(grant, revoke)]
