"""trainer.log holds every line the trainer printed as soon as it printed it (a killed worker loses none)."""

import pytest

from jobs.models import JobStatus
from tests.training.factories import make_snapshot
from training import services
from training.execution import LOG_FILE, execute
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def test_each_trainer_line_is_in_trainer_log_while_the_run_is_still_going(bob, settings, monkeypatch):
    settings.TRAINING_TRAINER_MODULE = "tests.training.fake_trainer"
    settings.TRAINING_BACKEND = "local"
    settings.TRAINING_CANCEL_POLL_SECONDS = 0.2
    settings.TRAINING_CANCEL_GRACE_SECONDS = 5
    monkeypatch.setenv("FAKE_TRAINER_MODE", "hang")  # prints a log line and one metric, then waits
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/model", backend="local")
    log = settings.DATA_DIR / run.run_dir / LOG_FILE
    seen = []

    def on_event(event):
        if event.get("event") == "metric":
            # The worker is still streaming: whatever is on disk now is all a SIGKILL would leave.
            seen.append(log.read_text())
            TrainingRun.objects.filter(pk=run.pk).update(cancel_requested=True)

    assert execute(run.pk, "w@host", on_event=on_event) == JobStatus.CANCELLED
    assert len(seen) == 1
    # The line that produced the event was on disk before the event was handled.
    assert any(line.startswith('{"event": "metric", "step": 1') for line in seen[0].splitlines())
    # stderr is read on its own pipe, so its line may land before or after the metric.
    assert "FakeTrainer starting" in log.read_text().splitlines()
