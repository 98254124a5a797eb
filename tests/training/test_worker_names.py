"""A run is recorded under the name its worker registered, so the Workers table shows it busy."""

import pytest

from training import execution, tasks, worker_host, workers


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(worker_host._host, "hostname", "embedded@academy")
    monkeypatch.setattr(worker_host, "refusal", lambda run_id: "")


def test_execute_run_uses_the_registered_worker_name(registered, monkeypatch):
    seen = []
    monkeypatch.setattr(workers, "set_current_run", lambda hostname, run_id: seen.append((hostname, run_id)))
    monkeypatch.setattr(execution, "execute", lambda run_id, hostname: seen.append(("execute", hostname)))
    tasks.execute_run.apply(args=[7])
    assert seen == [("embedded@academy", 7), ("execute", "embedded@academy"), ("embedded@academy", None)]


def test_the_broker_url_names_a_host(settings):
    from kombu import Connection

    assert Connection(settings.CELERY_BROKER_URL).hostname  # embedded "memory://" alone makes kombu warn
