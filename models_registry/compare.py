"""Side-by-side comparison of two versions: metrics, loss curves, Arena, dataset difference."""

import json
import math

from artifacts import store as artifact_store
from models_registry.adapters import AdapterError, data_path

METRIC_GROUPS = ("training", "eval", "arena")
SAMPLE_LIMIT = 50


def compare_versions(a, b) -> dict:
    """Compare baseline `a` with `b`: every metric with absolute and percent difference.

    A zero baseline has no percent change: it is reported as "new" (or "0%" when both are
    zero); a metric one side lacks is reported as missing, never as zero.
    """
    return {
        "a": a, "b": b,
        "metrics": metric_rows(a.metrics or {}, b.metrics or {}),
        "arena": arena_rows((a.metrics or {}).get("arena") or {}, (b.metrics or {}).get("arena") or {}),
        "curves": {"a": loss_curves(a.training_run_id), "b": loss_curves(b.training_run_id)},
        "dataset": dataset_difference(a.dataset, b.dataset),
    }


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) else None


def metric_rows(a: dict, b: dict) -> list[dict]:
    rows = []
    for group in METRIC_GROUPS:
        left, right = a.get(group) or {}, b.get(group) or {}
        for name in sorted(set(left) | set(right)):
            x, y = _number(left.get(name)), _number(right.get(name))
            if name in left and x is None or name in right and y is None:
                continue  # not a number (e.g. a nested Arena record): shown in the Arena table
            rows.append({"group": group, "name": name, "a": x, "b": y, **difference(x, y)})
    return rows


def difference(x, y) -> dict:
    """Absolute and percent change from x to y, with a readable label for every edge case."""
    if x is None or y is None:
        return {"abs": None, "pct": None, "pct_label": f"missing in {'A' if x is None else 'B'}"}
    delta = y - x
    if x == 0:
        return {"abs": delta, "pct": None if delta else 0.0, "pct_label": "new (baseline 0)" if delta else "0%"}
    pct = delta / abs(x) * 100
    return {"abs": delta, "pct": pct, "pct_label": f"{pct:+.1f}%"}


def arena_rows(a: dict, b: dict) -> list[dict]:
    return [{"name": name, "a": _show(a.get(name)), "b": _show(b.get(name))} for name in sorted(set(a) | set(b))]


def _show(value) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def loss_curves(run_id) -> dict:
    """{"train": [[step, loss], ...], "eval": [...]} from the run's metric points."""
    from training.models import MetricPoint

    curves = {"train": [], "eval": []}
    if run_id is None:
        return curves
    for kind, step, loss in MetricPoint.objects.filter(run_id=run_id, loss__isnull=False).order_by(
            "kind", "step").values_list("kind", "step", "loss"):
        curves.setdefault(kind, []).append([step, loss])
    return curves


def dataset_difference(a, b) -> dict:
    """Examples added and removed between two snapshots, matched by source reference."""
    if a is None or b is None:
        return {"available": False, "reason": "a version has no dataset snapshot recorded"}
    if a.pk == b.pk:
        return {"available": True, "same": True, "added": [], "removed": [], "added_count": 0, "removed_count": 0,
                "kept_count": a.row_count}
    try:
        left, right = _sources(a), _sources(b)
    except (OSError, AdapterError, ValueError) as exc:
        return {"available": False, "reason": f"cannot read snapshot: {exc}"}
    added, removed = sorted(right - left), sorted(left - right)
    return {"available": True, "same": False, "added_count": len(added), "removed_count": len(removed),
            "kept_count": len(left & right), "added": [_ref(s) for s in added[:SAMPLE_LIMIT]],
            "removed": [_ref(s) for s in removed[:SAMPLE_LIMIT]]}


def _sources(snapshot) -> set[tuple]:
    refs = set()
    if artifact_store.is_remote():  # fetched (sha256-checked) where this host lacks it
        try:
            artifact_store.fetch_file(snapshot.path, snapshot.sha256)
        except artifact_store.ArtifactMissing as exc:
            raise ValueError(str(exc)) from None
    with data_path(snapshot.path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                source = json.loads(line).get("source") or {}
            except ValueError:
                raise ValueError(f"{snapshot.path} line {number} is not JSON") from None
            refs.add((str(source.get("kind", "?")), str(source.get("ref") or source.get("id"))))
    return refs


def _ref(source: tuple) -> dict:
    return {"kind": source[0], "ref": source[1]}
