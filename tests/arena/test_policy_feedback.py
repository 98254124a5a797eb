"""The "likely mislabelled" feedback: train-split losses only, a median/MAD limit that outliers cannot
inflate, and a neighbour check that masks numbers and dates first."""

import json

import pytest

from curation.models import DatasetSnapshot, ExampleFeedback
from curation.services.feedback import _outlier_limit, disagreeing_neighbours, mask, record_training_losses
from tests.curation.factories import make_lesson

pytestmark = pytest.mark.django_db


def test_several_planted_outliers_cannot_hide_behind_the_spread_they_cause():
    clean = [0.20, 0.22, 0.25, 0.21, 0.24, 0.23, 0.26, 0.22, 0.20, 0.25, 0.24, 0.21]
    planted = [1.1, 1.2, 1.3]
    # mean + 2 SD of all 15 is about 1.2: two of the three planted rows would pass as normal.
    lessons = [make_lesson() for _ in clean + planted]
    record_training_losses(1, [{"kind": "lesson", "id": r.pk, "loss": loss}
                               for r, loss in zip(lessons, clean + planted, strict=True)])
    flagged = set(ExampleFeedback.objects.filter(likely_mislabelled=True).values_list("source_id", flat=True))
    assert flagged == {r.pk for r in lessons[-3:]}
    assert _outlier_limit(clean + planted) < 1.1


def test_no_spread_flags_nothing():
    assert _outlier_limit([0.5] * 10) is None


def test_templated_rows_that_differ_only_in_a_date_or_a_number_are_not_neighbours_that_disagree():
    texts = {("lesson", i): (f"When was release {i} tagged? It was on 2024-03-{i + 1:02d}.",
                             f"2024-03-{i + 1:02d}") for i in range(6)}
    assert disagreeing_neighbours(texts) == {}
    texts[("lesson", 9)] = ("When was release 9 tagged? It was on 2024-03-10.", "Bread rises slowly in the night.")
    assert set(disagreeing_neighbours(texts)) == {("lesson", 9)}
    assert mask("at 2024-03-01T10:00:00Z, 12:30 and 3.5 GB").split() == ["at", "<date>", ",", "<time>", "and",
                                                                          "<num>", "GB"]


def test_eval_split_losses_are_not_taken_as_losses_after_training(settings):
    from training.feedback import record_example_losses
    from training.models import TrainingRun

    records = [make_lesson(f"How do I list the files in folder {i}?", "Use ls.") for i in range(7)]
    rows = [{"messages": [{"role": "user", "content": r.situation}, {"role": "assistant", "content": r.action}],
             "split": "eval" if i == 6 else "train", "source": {"kind": "lesson", "id": r.pk}}
            for i, r in enumerate(records)]
    (settings.DATA_DIR / "snap.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = settings.DATA_DIR / "runs" / "3"
    run_dir.mkdir(parents=True)
    (run_dir / "example_losses.jsonl").write_text("".join(
        json.dumps({"line": n, "split": row["split"], "loss": 0.2 if row["split"] == "train" else 4.0, "tokens": 5})
        + "\n" for n, row in enumerate(rows, start=1)))
    snapshot = DatasetSnapshot.objects.create(name="s", sha256="b" * 64, format="messages", path="snap.jsonl",
                                              row_count=7, train_count=6, eval_count=1)
    run = TrainingRun.objects.create(dataset=snapshot, base_model="toy", run_dir="runs/3", status="succeeded")

    assert record_example_losses(run) == 6
    assert not ExampleFeedback.objects.filter(source_id=records[6].pk).exists()
