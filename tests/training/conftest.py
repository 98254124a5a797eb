import pytest

from tests.training.factories import make_snapshot
from training import services


@pytest.fixture
def run(bob):
    """A queued run of Operator bob's on a fresh snapshot (nothing sends it to a worker in these tests)."""
    return services.start_run(bob, dataset=make_snapshot(), base_model="org/model")


@pytest.fixture
def published(monkeypatch):
    """Every batch of events the broadcaster was handed, in order (nothing reaches a channel layer)."""
    sent = []
    monkeypatch.setattr("jobs.broadcast.publish_job_events", lambda group, events: sent.append(events))
    return sent
