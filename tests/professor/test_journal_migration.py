"""Migration 0004 gives existing records the new meaning: a not-ready cycle keeps its failed rules as its
reason, and the entries that started a run or an evaluation name it (labelled by its state, not "Done")."""

import pytest

from tests.migrating import migrate, schema_at

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("professor", "0003_admin_edits_periodic_tasks")]
AFTER = [("professor", "0004_journal_jobs_asks_outcome_reason")]


def test_old_cycles_and_started_entries_are_backfilled():
    with schema_at(BEFORE) as old:
        Cycle, Entry = old.get_model("professor", "Cycle"), old.get_model("professor", "JournalEntry")
        idle = Cycle.objects.create(outcome="not_ready", status="succeeded",
                                    summary="not ready to train: 3 approved examples (minimum 100)")
        trained = Cycle.objects.create(outcome="rejected", status="succeeded", summary="v2 was rejected")
        started = Entry.objects.create(cycle=trained, step="training", outcome="ok", message="started run 7: batch 2")
        succeeded = Entry.objects.create(cycle=trained, step="training", outcome="ok", message="run 7 succeeded: v2")
        evaluating = Entry.objects.create(cycle=trained, step="evaluation", outcome="ok",
                                          message="evaluating v2 against v1 (evaluation 4)")
        new = migrate(AFTER)
        Cycle, Entry = new.get_model("professor", "Cycle"), new.get_model("professor", "JournalEntry")
        assert Cycle.objects.get(pk=idle.pk).outcome_reason == "3 approved examples (minimum 100)"
        assert Cycle.objects.get(pk=trained.pk).outcome_reason == ""
        entry = Entry.objects.get(pk=started.pk)
        assert (entry.outcome, entry.job_kind, entry.job_id) == ("started", "run", 7)
        assert Entry.objects.get(pk=succeeded.pk).job_id is None
        entry = Entry.objects.get(pk=evaluating.pk)
        assert (entry.outcome, entry.job_kind, entry.job_id) == ("started", "evaluation", 4)
