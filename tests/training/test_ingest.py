import json

import pytest

from training import services
from training.ingest import RunIngestor, parse_line
from training.models import MetricPoint, RunLogLine, TrainingRun

pytestmark = pytest.mark.django_db

OUTPUT = [
    json.dumps({"event": "start", "total_steps": 4, "device": "cpu", "backend": "peft"}),
    "loading the base model",
    json.dumps({"event": "metric", "step": 1, "epoch": 0.25, "loss": 2.0, "lr": 1e-4, "tokens_per_s": 50, "ts": 1.0}),
    json.dumps({"event": "metric", "step": 2, "epoch": 0.5, "loss": 1.5, "lr": 1e-4, "tokens_per_s": 60, "ts": 2.0}),
    json.dumps({"event": "eval", "step": 2, "eval_loss": 1.4}),
    json.dumps({"event": "checkpoint", "step": 2, "path": "checkpoints/step-2"}),
    '{"not": "an event"}',
    "{broken json",
]


def test_protocol_lines_are_events_and_everything_else_is_a_log_line():
    assert parse_line(OUTPUT[2])["loss"] == 2.0
    assert parse_line("plain text") is None
    assert parse_line('{"not": "an event"}') is None
    assert parse_line("{broken json") is None


def test_ingestion_stores_points_logs_progress_and_checkpoints(run, published):
    services.claim_run(run.pk, "w@host")  # progress is stored for a claimed run only
    ingestor = RunIngestor(run, batch_size=100)
    ingestor.ingest(OUTPUT)
    run.refresh_from_db()
    assert list(MetricPoint.objects.filter(run=run, kind="train").values_list("step", "loss")) == [(1, 2.0), (2, 1.5)]
    assert MetricPoint.objects.get(run=run, kind="eval").loss == 1.4
    # The trainer's own output in readable words, in order: protocol events and log lines alike.
    assert list(RunLogLine.objects.filter(run=run).values_list("seq", "text")) == [
        (1, "start: 4 steps, on cpu (peft)"), (2, "loading the base model"),
        (3, "step 1/4 · epoch 0.25 · loss 2.0000 · lr 1.00e-04 · 50 tokens/s"),
        (4, "step 2/4 · epoch 0.50 · loss 1.5000 · lr 1.00e-04 · 60 tokens/s"),
        (5, "step 2/4 · eval loss 1.4000"), (6, "checkpoint saved at step 2"),
        (7, '{"not": "an event"}'), (8, "{broken json")]
    # The tail kept for a failure's message holds what the trainer printed, not the loss lines.
    assert list(ingestor.tail) == ["loading the base model", '{"not": "an event"}', "{broken json"]
    assert run.current_step == 2 and run.total_steps == 4 and run.progress == 0.5
    assert run.device == "cpu (peft)"
    assert run.artifacts["checkpoints"] == [{"step": 2, "path": "checkpoints/step-2"}]
    events = [e["event"] for batch in published for e in batch]
    assert events.count("metric") == 2 and "eval" in events and "log" in events


def test_the_same_lines_twice_give_the_same_metric_rows(run, published):
    services.claim_run(run.pk, "w@host")
    RunIngestor(run).ingest(OUTPUT)
    before = list(MetricPoint.objects.filter(run=run).values_list("kind", "step", "loss"))
    RunIngestor(TrainingRun.objects.get(pk=run.pk)).ingest(OUTPUT)
    assert list(MetricPoint.objects.filter(run=run).values_list("kind", "step", "loss")) == before
    assert TrainingRun.objects.get(pk=run.pk).artifacts["checkpoints"] == [{"step": 2, "path": "checkpoints/step-2"}]


def test_the_end_of_a_run_is_told_as_it_happened(run, published):
    done = {"event": "done", "metrics": {"steps": 81, "best_step": 64, "eval_loss": 5.2912, "last_eval_loss": 5.4,
                                         "stopped_early": False}}
    RunIngestor(run, batch_size=100).ingest([json.dumps({"event": "start", "total_steps": 81}), json.dumps(done)])
    last = RunLogLine.objects.filter(run=run).order_by("seq").last().text
    assert last == ("done: trained all 81 steps; the adapter kept is from step 64, where the eval loss was lowest "
                    "(5.2912; 5.4000 at step 81)")
    assert "early" not in last


def test_an_early_stop_says_where_it_stopped_of_the_plan():
    from training.ingest import end_of_run

    text = end_of_run({"steps": 60, "best_step": 36, "eval_loss": 1.0, "last_eval_loss": 1.2, "stopped_early": True},
                      81)
    assert text.startswith("stopped early at step 60 of 81 planned") and "from step 36" in text
    assert end_of_run({"steps": 81, "best_step": 81, "eval_loss": 1.0, "stopped_early": False}, 81) == \
        "trained all 81 steps; the adapter is from the last step, where the eval loss was lowest (1.0000)"


def test_the_stored_log_keeps_only_its_newest_lines(run, published, monkeypatch):
    monkeypatch.setattr("training.ingest.KEEP_LOG_LINES", 20)
    ingestor = RunIngestor(run, batch_size=5, flush_seconds=3600)
    ingestor.ingest([f"line {n}" for n in range(1, 101)])
    texts = list(RunLogLine.objects.filter(run=run).order_by("seq").values_list("text", flat=True))
    assert texts[-1] == "line 100" and 20 <= len(texts) <= 22  # pruned in chunks of a tenth
    assert "line 1" not in texts


def test_lines_are_written_in_batches(run, published):
    ingestor = RunIngestor(run, batch_size=2, flush_seconds=3600)
    ingestor.feed("one")
    assert not RunLogLine.objects.filter(run=run).exists()
    ingestor.feed("two")
    assert RunLogLine.objects.filter(run=run).count() == 2
    assert len(published) == 1


def test_a_later_attempt_continues_the_log_sequence(run, published):
    RunIngestor(run).ingest(["first attempt"])
    RunIngestor(run).ingest(["second attempt"])
    assert list(RunLogLine.objects.filter(run=run).values_list("seq", flat=True)) == [1, 2]


def test_the_first_metric_point_is_written_at_once_and_later_ones_in_batches(run, published):
    ingestor = RunIngestor(run, batch_size=100, flush_seconds=3600)
    ingestor.feed(OUTPUT[2])
    assert MetricPoint.objects.filter(run=run).count() == 1
    ingestor.feed(OUTPUT[3])
    assert MetricPoint.objects.filter(run=run).count() == 1
    ingestor.flush()
    assert MetricPoint.objects.filter(run=run).count() == 2


# ------------------------------------------------------------------ per-example losses (curation feedback)
EXAMPLE_LOSSES = json.dumps({"event": "example_losses", "path": "example_losses.jsonl", "count": 12})


def test_the_per_example_losses_line_is_an_event_not_a_log_line(run, published):
    assert parse_line(EXAMPLE_LOSSES)["count"] == 12
    ingestor = RunIngestor(run, batch_size=100)
    ingestor.ingest(["scoring each example", EXAMPLE_LOSSES])
    assert list(RunLogLine.objects.filter(run=run).values_list("text", flat=True)) == ["scoring each example"]
    assert ingestor.example_losses == {"path": f"{run.run_dir}/example_losses.jsonl", "count": 12}
    sent = [e for batch in published for e in batch if e.get("event") == "example_losses"]
    assert sent == [{"event": "example_losses", "path": "example_losses.jsonl", "count": 12}]
    assert not any("example_losses" in line for line in ingestor.tail)


@pytest.mark.parametrize("fields", [{"path": "../../etc/passwd", "count": 3}, {"path": "sub/example_losses.jsonl"},
                                    {"path": "example_losses.jsonl", "count": "many"}, {"count": -1}])
def test_a_per_example_losses_event_naming_another_file_or_a_bad_count_is_not_taken(run, published, fields):
    ingestor = RunIngestor(run, batch_size=100)
    ingestor.ingest([json.dumps({"event": "example_losses", **fields})])
    assert ingestor.example_losses is None
    assert not RunLogLine.objects.filter(run=run).exists()
