"""Feedback to curation: per-example loss after training and holdout results, stored against source
records through the snapshot lineage; the review queue and admin filter and sort by them."""

import json

import pytest

from curation.models import ExampleFeedback, ReviewStatus
from curation.services.feedback import disagreeing_neighbours, record_holdout_results, record_training_losses
from tests.curation.factories import make_lesson

pytestmark = pytest.mark.django_db


def test_the_trainer_writes_each_examples_final_loss_by_snapshot_line(tmp_path):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    from tests.training.trainer_fixtures import of_kind, records, run_trainer, toy_model, write_snapshot, write_spec

    rows = records("messages", count=12)
    code, events, stderr = run_trainer(write_spec(tmp_path, toy_model(), write_snapshot(tmp_path, rows), tmp_path,
                                                  max_steps=2))
    assert code == 0, stderr[-2000:]
    assert of_kind(events, "example_losses")[0]["count"] == 12
    written = [json.loads(line) for line in (tmp_path / "example_losses.jsonl").read_text().splitlines()]
    assert [w["line"] for w in written] == list(range(1, 13))
    assert all(w["loss"] > 0 and w["tokens"] > 0 for w in written)
    assert {w["split"] for w in written} == {"train", "eval"}


def test_a_succeeded_run_stores_losses_against_the_source_records(settings):
    from curation.models import DatasetSnapshot
    from training.feedback import record_example_losses
    from training.models import TrainingRun

    lessons = [make_lesson(f"How do I list the files in folder {i}?", "Use ls.") for i in range(8)]
    bad = make_lesson("How do I list the files in folder 99?", "Bread rises slowly in a cold kitchen.")
    records = [*lessons, bad]
    rows = [{"messages": [{"role": "user", "content": r.situation}, {"role": "assistant", "content": r.action}],
             "split": "train", "source": {"kind": "lesson", "id": r.pk, "ref": str(r.pk)}} for r in records]
    (settings.DATA_DIR / "snap.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = settings.DATA_DIR / "runs" / "7"
    run_dir.mkdir(parents=True)
    losses = [0.2, 0.25, 0.22, 0.21, 0.3, 0.24, 0.23, 0.26, 3.5]  # the planted row stays hard to fit
    (run_dir / "example_losses.jsonl").write_text("".join(
        json.dumps({"line": n, "split": "train", "loss": loss, "tokens": 5}) + "\n"
        for n, loss in enumerate(losses, start=1)))
    snapshot = DatasetSnapshot.objects.create(name="s", sha256="e" * 64, format="messages", path="snap.jsonl",
                                              row_count=9, train_count=9, eval_count=0)
    run = TrainingRun.objects.create(dataset=snapshot, base_model="toy", run_dir="runs/7", status="succeeded")

    assert record_example_losses(run) == 9

    flagged = ExampleFeedback.objects.get(source_kind="lesson", source_id=bad.pk)
    assert flagged.hard and flagged.likely_mislabelled and flagged.train_run_id == run.pk
    assert any("outlier" in r for r in flagged.reasons) and any("disagrees" in r for r in flagged.reasons)
    calm = ExampleFeedback.objects.get(source_kind="lesson", source_id=lessons[0].pk)
    assert not calm.hard and not calm.likely_mislabelled


def test_an_answer_that_disagrees_with_its_neighbours_is_flagged():
    texts = {("lesson", i): (f"how do I list the files in this folder {i % 2}", "use ls to list them")
             for i in range(4)}
    texts[("lesson", 9)] = ("how do I list the files in this folder 1", "bread rises slowly in a cold kitchen")
    texts[("lesson", 10)] = ("what is the capital of france", "paris")
    assert set(disagreeing_neighbours(texts)) == {("lesson", 9)}


def test_holdout_results_add_to_the_record_without_erasing_training_feedback():
    lessons = [make_lesson() for _ in range(6)]
    record_training_losses(1, [{"kind": "lesson", "id": r.pk, "loss": 0.5 + i / 10} for i, r in enumerate(lessons)])
    record_holdout_results(4, [{"kind": "lesson", "id": r.pk, "loss": 1.0 + i, "f1": 0.5}
                               for i, r in enumerate(lessons)])
    top = ExampleFeedback.objects.get(source_kind="lesson", source_id=lessons[-1].pk)
    assert top.train_loss == pytest.approx(1.0) and top.holdout_loss == pytest.approx(6.0)
    assert top.hard and top.holdout_evaluation_id == 4
    assert any(r.startswith("held out:") for r in top.reasons) and any("after training" in r for r in top.reasons)


def test_the_review_queue_filters_and_sorts_by_feedback(client, carol):
    easy, hard, planted = (make_lesson(status=ReviewStatus.APPROVED) for _ in range(3))
    ExampleFeedback.objects.create(source_kind="lesson", source_id=easy.pk, train_loss=0.1)
    ExampleFeedback.objects.create(source_kind="lesson", source_id=hard.pk, train_loss=2.0, hard=True)
    ExampleFeedback.objects.create(source_kind="lesson", source_id=planted.pk, train_loss=4.0, hard=True,
                                   likely_mislabelled=True)
    client.force_login(carol)
    page = client.get("/lessons/", {"status": "approved", "signal": "mislabelled"})
    assert [i["record"].pk for i in page.context["items"]] == [planted.pk]
    page = client.get("/lessons/", {"status": "approved", "sort": "loss"})
    assert [i["record"].pk for i in page.context["items"]] == [planted.pk, hard.pk, easy.pk]
    assert client.get("/lessons/", {"signal": "nonsense"}).status_code == 400
    api = client.get("/api/v1/lessons", {"status": "approved", "signal": "hard", "sort": "loss"})
    assert [row["id"] for row in api.json()["results"]] == [planted.pk, hard.pk]


def test_the_admin_filters_by_feedback(client, alice):
    plain, planted = make_lesson(), make_lesson()
    ExampleFeedback.objects.create(source_kind="lesson", source_id=planted.pk, train_loss=4.0,
                                   likely_mislabelled=True)
    client.force_login(alice)
    page = client.get("/admin/curation/lesson/", {"signal": "mislabelled"})
    assert page.status_code == 200
    shown = {obj.pk for obj in page.context["cl"].result_list}
    assert shown == {planted.pk} and plain.pk not in shown
