"""The Overview's guidance: the loop's steps and what waits for a person, contributed by each app.

An app config may define `overview_steps()` -> [{"order", "key", "label", "done", "url",
"hint"}] and `overview_waiting()` -> [{"label", "value", "url"}]; this module only gathers
them (apps keep their one-way dependencies).
"""

from django.apps import apps


def _gather(method: str) -> list[dict]:
    items: list[dict] = []
    for config in apps.get_app_configs():
        contribute = getattr(config, method, None)
        if contribute is not None:
            items.extend(contribute())
    return items


def collect_steps() -> list[dict]:
    """review -> dataset -> train -> watch -> evaluate -> promote, each with whether it was done."""
    return sorted(_gather("overview_steps"), key=lambda step: step["order"])


def collect_waiting() -> list[dict]:
    return _gather("overview_waiting")


def guidance() -> dict:
    steps = collect_steps()
    done = bool(steps) and all(step["done"] for step in steps)
    following = next((step for step in steps if not step["done"]), None)
    return {"steps": steps, "loop_done": done, "next_step": following, "waiting": collect_waiting()}
