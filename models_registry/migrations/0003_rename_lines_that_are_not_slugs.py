"""Lines created before names were checked may hold any text, which breaks every page that
links to them; give each such line a slug made from its name (or its id)."""

import re

from django.db import migrations
from django.utils.text import slugify

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,100}\Z")


def rename_lines_that_are_not_slugs(apps, schema_editor):
    ModelLine = apps.get_model("models_registry", "ModelLine")
    taken = set(ModelLine.objects.values_list("name", flat=True))
    for line in ModelLine.objects.order_by("pk"):
        if _SLUG.match(line.name):
            continue
        base = slugify(line.name)[:80] or "line"
        name, suffix = base, 1
        while name in taken:
            suffix += 1
            name = f"{base}-{suffix}"
        taken.add(name)
        line.description = f"Renamed from {line.name!r} (not a slug).\n{line.description}".strip()
        line.name = name
        line.save(update_fields=["name", "description"])


class Migration(migrations.Migration):

    dependencies = [
        ("models_registry", "0002_activation_arena_verdict"),
    ]

    operations = [
        migrations.RunPython(rename_lines_that_are_not_slugs, migrations.RunPython.noop),
    ]
