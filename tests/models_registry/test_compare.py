import json
from pathlib import Path

import pytest
from django.conf import settings

from curation.models import DatasetSnapshot
from models_registry.compare import compare_versions, difference
from tests.models_registry.factories import make_line, make_version


def _snapshot(name, refs):
    rows = [json.dumps({"instruction": "i", "input": "", "output": "o", "split": "train",
                        "source": {"kind": kind, "id": n, "ref": ref}}, sort_keys=True)
            for n, (kind, ref) in enumerate(refs, 1)]
    relative = f"datasets/{name}.jsonl"
    path = Path(settings.DATA_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return DatasetSnapshot.objects.create(name=name, sha256=name.ljust(64, "0"), format="alpaca", path=relative,
                                          row_count=len(rows), train_count=len(rows), eval_count=0)


@pytest.fixture
def line(db):
    return make_line()


def test_zero_baseline_and_missing_metrics_give_no_division_error(line):
    a = make_version(line, metrics={"training": {"train_loss": 0.0, "steps": 10}, "eval": {"eval_loss": 2.0},
                                    "arena": {}})
    b = make_version(line, metrics={"training": {"train_loss": 0.5, "steps": 10},
                                    "eval": {"exam_score": 0.7}, "arena": {}})
    rows = {(r["group"], r["name"]): r for r in compare_versions(a, b)["metrics"]}
    assert rows[("training", "train_loss")]["pct_label"] == "new (baseline 0)"
    assert rows[("training", "train_loss")]["abs"] == 0.5
    assert rows[("training", "steps")]["pct_label"] == "+0.0%"
    assert rows[("eval", "eval_loss")]["b"] is None
    assert rows[("eval", "eval_loss")]["pct_label"] == "missing in B"
    assert rows[("eval", "exam_score")]["pct_label"] == "missing in A"


def test_difference_edge_cases():
    assert difference(0, 0) == {"abs": 0, "pct": 0.0, "pct_label": "0%"}
    assert difference(2.0, 1.0)["pct_label"] == "-50.0%"
    assert difference(-2.0, -1.0)["pct"] == 50.0


def test_dataset_difference_by_source_reference(line):
    old = _snapshot("old", [("lesson", "L1"), ("lesson", "L2"), ("commit", "abc")])
    new = _snapshot("new", [("lesson", "L2"), ("commit", "abc"), ("conversation", "T9")])
    a, b = make_version(line, dataset=old), make_version(line, dataset=new)
    diff = compare_versions(a, b)["dataset"]
    assert (diff["added_count"], diff["removed_count"], diff["kept_count"]) == (1, 1, 2)
    assert diff["added"] == [{"kind": "conversation", "ref": "T9"}]
    assert diff["removed"] == [{"kind": "lesson", "ref": "L1"}]


def test_missing_snapshot_file_is_reported_not_raised(line):
    old, new = _snapshot("old", [("lesson", "L1")]), _snapshot("new", [("lesson", "L2")])
    (Path(settings.DATA_DIR) / new.path).unlink()
    diff = compare_versions(make_version(line, dataset=old), make_version(line, dataset=new))["dataset"]
    assert diff["available"] is False and "cannot read snapshot" in diff["reason"]


def test_compare_page_shows_metrics_arena_and_curves(client, line, viewer):
    from training.models import MetricPoint, TrainingRun

    snapshot = _snapshot("s", [("lesson", "L1")])
    runs = [TrainingRun.objects.create(dataset=snapshot, base_model="toy/base") for _ in range(2)]
    for run, loss in zip(runs, (2.0, 1.0), strict=True):
        for step in (1, 2):
            MetricPoint.objects.create(run=run, step=step, loss=loss / step, ts=0)
    make_version(line, training_run=runs[0], metrics={"training": {"train_loss": 0}, "arena": {"win_rate": 0.4}})
    make_version(line, training_run=runs[1], metrics={"training": {"train_loss": 1}, "arena": {"win_rate": 0.6}})
    client.force_login(viewer)
    page = client.get(f"/models/{line.name}/compare/?a=v1&b=v2").content.decode()
    assert "new (baseline 0)" in page
    assert "win_rate" in page and "0.6" in page
    assert page.count("<polyline") == 2
