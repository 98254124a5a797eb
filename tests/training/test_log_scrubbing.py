"""The trainer's log lines and error messages are scrubbed before they are stored or streamed."""

import json

import pytest

from training import services
from training.ingest import RunIngestor
from training.models import RunLogLine

pytestmark = pytest.mark.django_db

TOKEN = "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"


def test_log_lines_and_errors_are_redacted_in_the_database_and_the_stream(run, published):
    ingestor = RunIngestor(run, batch_size=100)
    ingestor.ingest([f"downloading with HF_TOKEN={TOKEN}",
                     json.dumps({"event": "error", "kind": "crash", "message": f"401 for token {TOKEN}"})])
    stored = list(RunLogLine.objects.filter(run=run).values_list("text", flat=True))
    assert stored == ["downloading with HF_TOKEN=[REDACTED:huggingface_token]",
                      "error (crash): 401 for token [REDACTED:huggingface_token]"]
    assert TOKEN not in json.dumps(published) and TOKEN not in json.dumps(ingestor.error)
    assert TOKEN not in "\n".join(ingestor.tail)


# ------------------------------------------------------------------ errors the worker itself sets on a run


@pytest.fixture
def announced(monkeypatch):
    """The run as every finish announcement carried it (what the live pages are sent)."""
    sent = []
    monkeypatch.setattr("jobs.lifecycle.announce",
                        lambda model, pk: sent.append({**model.objects.get(pk=pk).status_payload(),
                                                       "api": model.objects.get(pk=pk).job_dict()}))
    return sent


def test_an_error_raised_in_the_worker_is_redacted_before_it_is_stored_or_announced(run, announced, monkeypatch):
    from training.execution import execute

    def broken(run, on_event=None):
        raise RuntimeError(f"hub answered 401 for {TOKEN}")

    monkeypatch.setattr("training.execution._execute_claimed", broken)
    assert execute(run.pk, "w@host") == "failed"
    run.refresh_from_db()
    assert run.error == "RuntimeError: hub answered 401 for [REDACTED:huggingface_token]"
    assert TOKEN not in json.dumps(announced, default=str)


def test_a_launch_refusal_is_redacted_in_the_error_and_the_plain_words(run, announced, monkeypatch):
    from training.backends import BackendUnavailable
    from training.execution import execute

    refusal = "Docker could not pull https://deploy:Zq8vLm2Pw9xKt4Rb@registry.example.com/v2/trainer: denied"

    def refuse(*args, **kwargs):
        raise BackendUnavailable(refusal)

    monkeypatch.setattr("training.execution.verify_snapshot", lambda dataset: None)
    monkeypatch.setattr("training.execution.choose_backend", refuse)
    assert execute(run.pk, "w@host") == "failed"
    run.refresh_from_db()
    for text in (run.error, run.human_error):
        assert "Zq8vLm2Pw9xKt4Rb" not in text and "[REDACTED:url_password]" in text
    assert "Zq8vLm2Pw9xKt4Rb" not in json.dumps(announced, default=str)


def test_the_exit_message_with_the_last_log_lines_is_stored_redacted(run, monkeypatch):
    from training.services import finish_run

    services.claim_run(run.pk, "w@host")
    finish_run(run.pk, "failed", exit_code=1, error=f"exit code 1\nexport HF_TOKEN={TOKEN}",
               human_error=f"crash: token {TOKEN} refused")
    run.refresh_from_db()
    assert run.error == "exit code 1\nexport HF_TOKEN=[REDACTED:huggingface_token]"
    assert run.human_error == "crash: token [REDACTED:huggingface_token] refused"


def test_plain_words_stay_within_their_column_when_markers_are_longer_than_the_secrets(run):
    from training.services import finish_run

    services.claim_run(run.pk, "w@host")
    human = "x" * 483 + " password=ab12cd"  # 500 characters; redacted it would be 512
    finish_run(run.pk, "failed", error="boom", human_error=human)
    run.refresh_from_db()
    assert len(run.human_error) <= 500 and "ab12cd" not in run.human_error
