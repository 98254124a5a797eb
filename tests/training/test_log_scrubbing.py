"""The trainer's log lines and error messages are scrubbed before they are stored or streamed."""

import json

import pytest

from tests.training.factories import make_snapshot
from training import services
from training.ingest import RunIngestor
from training.models import RunLogLine

pytestmark = pytest.mark.django_db

TOKEN = "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"


@pytest.fixture
def run(bob):
    return services.start_run(bob, dataset=make_snapshot(), base_model="org/model")


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr("jobs.broadcast.publish_job_events", lambda group, events: sent.append(events))
    return sent


def test_log_lines_and_errors_are_redacted_in_the_database_and_the_stream(run, published):
    ingestor = RunIngestor(run, batch_size=100)
    ingestor.ingest([f"downloading with HF_TOKEN={TOKEN}",
                     json.dumps({"event": "error", "kind": "crash", "message": f"401 for token {TOKEN}"})])
    stored = list(RunLogLine.objects.filter(run=run).values_list("text", flat=True))
    assert stored == ["downloading with HF_TOKEN=[REDACTED:huggingface_token]"]
    assert TOKEN not in json.dumps(published) and TOKEN not in json.dumps(ingestor.error)
    assert TOKEN not in "\n".join(ingestor.tail)
