"""Create the four roles as groups holding their capability permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen copy: a migration must not change when accounts.roles changes later.
ROLE_CAPABILITIES = {
    "Viewer": ["view_dashboard"],
    "Reviewer": ["view_dashboard", "review_examples"],
    "Operator": ["view_dashboard", "ingest_experience", "build_datasets", "operate_training"],
    "Admin": ["view_dashboard", "review_examples", "ingest_experience", "build_datasets",
              "operate_training", "manage_models", "manage_users"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; create accounts' now.
    config = apps.get_app_config("accounts")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        group.permissions.add(*perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_CAPABILITIES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
