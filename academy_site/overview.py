"""Counters for the Overview page, contributed by each app.

An app config that defines `overview_counts()` returns a list of dicts
{"key", "label", "value", "url"}; this module only gathers them, so the apps keep
their one-way dependencies.
"""

from django.apps import apps


def collect_counts() -> list[dict]:
    counts: list[dict] = []
    for config in apps.get_app_configs():
        contribute = getattr(config, "overview_counts", None)
        if contribute is not None:
            counts.extend(contribute())
    return counts


OVERVIEW_GROUP = "overview"
