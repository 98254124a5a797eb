"""Answers to the agent's command words are kept in the journal (who asked, the words, the answer) and shown
on the Professor page, not only flashed once."""

import pytest
from django.core.management import call_command

from jobs.models import JobStatus
from professor.commands import ask
from professor.models import JournalEntry, StepOutcome
from tests.factories import bearer, make_token
from tests.professor.factories import make_run, make_snapshot_row

pytestmark = pytest.mark.django_db


def test_an_ask_from_the_page_is_kept_with_the_user_and_shown_on_the_page(client, viewer):
    client.force_login(viewer)
    response = client.post("/professor/ask", {"words": "are we ready to train?", "next": "/professor/"})
    assert response.status_code == 302
    entry = JournalEntry.objects.asks().get()
    assert (entry.asker, entry.asked_by, entry.words) == ("victor", viewer, "are we ready to train?")
    assert entry.message.startswith("Not ready to train: ") and entry.outcome == StepOutcome.OK
    assert entry.cycle is None and entry.numbers["intent"] == "readiness"
    page = client.get("/professor/").content.decode()
    section = page[page.index('id="professor-asks"'):]
    assert "victor" in section and "are we ready to train?" in section
    assert entry.message.split(";")[0] in section and "Answered" in section


def test_an_ask_through_the_api_is_kept_under_the_tokens_name(client, bob):
    make_run(make_snapshot_row(60), status=JobStatus.RUNNING)
    raw = make_token(bob, "Operator", name="agent-7")
    body = client.post("/api/v1/professor/ask", {"words": "check training progress"},
                       content_type="application/json", **bearer(raw)).json()
    entry = JournalEntry.objects.asks().get()
    assert entry.asker == "token agent-7" and entry.asked_by == bob
    assert entry.words == "check training progress" and entry.message == body["answer"]
    assert entry.links == [{"label": f"run {body['data']['run']}", "url": f"/training/runs/{body['data']['run']}/"}]


def test_a_refused_ask_is_kept_as_refused(client, viewer):
    raw = make_token(viewer, "Viewer", name="reader")
    response = client.post("/api/v1/professor/ask", {"words": "start training"}, content_type="application/json",
                           **bearer(raw))
    assert response.status_code == 403
    entry = JournalEntry.objects.asks().get()
    assert entry.outcome == StepOutcome.FAILED and entry.ask_label == "Refused"
    assert entry.asker == "token reader" and entry.message.startswith("Not allowed: this needs the ")


def test_an_unknown_command_is_kept_with_the_list_of_commands(viewer):
    answer = ask(viewer, "make me a sandwich")
    entry = JournalEntry.objects.asks().get()
    assert not answer.ok and entry.outcome == StepOutcome.STOPPED and entry.ask_label == "Not done"
    assert entry.message == answer.text and "I understand these commands" in entry.message


def test_an_ask_from_the_command_line_is_kept_as_the_command_line(capsys):
    call_command("professor", "ask", "are", "we", "ready", "to", "train?")
    entry = JournalEntry.objects.asks().get()
    assert entry.asker == "command line" and entry.asked_by is None and entry.words == "are we ready to train?"


def test_asks_never_join_a_cycles_timeline(viewer):
    from professor.cycle import start_cycle

    cycle = start_cycle(None, queue=False)
    ask(viewer, "check training progress")
    assert cycle.journal.count() == 0 and JournalEntry.objects.asks().count() == 1


def test_a_long_answer_is_cut_and_says_so(viewer, monkeypatch):
    from professor import commands

    monkeypatch.setattr(commands, "_answer", lambda *a, **k: commands.Answer("readiness", "x" * 5000))
    ask(viewer, "are we ready?")
    entry = JournalEntry.objects.asks().get()
    assert len(entry.message) == 1000 and entry.message.endswith("…")
