"""One cycle at a time: the lease in the database, racing triggers, and a killed worker's stale lease."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from jobs import lifecycle
from professor import lease
from professor.cycle import start_cycle
from professor.lease import LeaseBusy
from professor.models import Cycle, Lease, Outcome

POSTGRES = "postgresql" in django_settings.DATABASES["default"]["ENGINE"]


@pytest.mark.django_db
def test_a_second_trigger_answers_already_queued_since():
    first = start_cycle(None, queue=False)
    with pytest.raises(LeaseBusy) as refused:
        start_cycle(None, queue=False)
    assert str(refused.value).startswith("a cycle is already queued since ")
    assert str(refused.value).endswith(f"(cycle {first.pk})")
    assert list(Cycle.objects.values_list("pk", flat=True)) == [first.pk]  # the refused one left nothing behind


@pytest.mark.django_db
def test_the_command_line_says_already_queued(capsys):
    from django.core.management import CommandError, call_command

    start_cycle(None, queue=False)
    with pytest.raises(CommandError, match="not started: a cycle is already queued since"):
        call_command("professor", "cycle")


@pytest.mark.django_db
def test_a_released_lease_can_be_taken_again():
    first = start_cycle(None, queue=False)
    assert lease.release(first.pk)
    second = start_cycle(None, queue=False)
    assert Lease.objects.get().cycle_id == second.pk


@pytest.mark.django_db
def test_a_heartbeat_pushes_the_expiry_out(settings):
    settings.PROFESSOR_LEASE_SECONDS = 60
    cycle = start_cycle(None, queue=False)
    later = timezone.now() + timedelta(seconds=50)
    assert lease.renew(cycle.pk, now=later)
    assert Lease.objects.get().expires_at == later + timedelta(seconds=60)


@pytest.mark.django_db
def test_a_killed_workers_stale_lease_expires_and_the_next_cycle_takes_over(settings):
    settings.PROFESSOR_LEASE_SECONDS = 60
    dead = start_cycle(None, queue=False)
    assert lifecycle.claim(Cycle, dead.pk, worker="worker-that-gets-killed") is not None
    # The worker is killed: no more heartbeats, no release. Until the lease runs out, triggers are refused ...
    with pytest.raises(LeaseBusy):
        start_cycle(None, queue=False)
    # ... and once it has, the next trigger takes over and the dead cycle ends as lost.
    past = timezone.now() - timedelta(seconds=61)
    Lease.objects.update(heartbeat_at=past, expires_at=past + timedelta(seconds=60))
    Cycle.objects.filter(pk=dead.pk).update(heartbeat_at=past)
    successor = start_cycle(None, queue=False)
    dead.refresh_from_db()
    assert dead.status == "lost" and dead.outcome == Outcome.FAILED
    assert Lease.objects.get().cycle_id == successor.pk
    entry = successor.journal.get()
    assert entry.step == "lease" and f"cycle {dead.pk} stopped without finishing" in entry.message
    # A worker that comes back to life finds the lease gone and stops.
    assert lease.renew(dead.pk) is False


@pytest.mark.django_db
def test_the_jobs_reaper_marks_a_silent_cycle_lost(settings):
    from jobs.reaper import reap

    settings.PROFESSOR_LEASE_SECONDS = 60
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    Cycle.objects.filter(pk=cycle.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    reap()
    cycle.refresh_from_db()
    assert cycle.status == "lost"


@pytest.mark.skipif(not POSTGRES, reason="the race needs PostgreSQL (the services pass runs it with DATABASE_URL)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_triggers_on_postgresql_start_exactly_one_cycle():
    racers = 6
    barrier = threading.Barrier(racers)
    started, refused, errors = [], [], []

    def trigger():
        try:
            barrier.wait(timeout=10)
            started.append(start_cycle(None, queue=False).pk)
        except LeaseBusy as exc:
            refused.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(started) == 1 and len(refused) == racers - 1
    assert all(f"(cycle {started[0]})" in message for message in refused)
    assert list(Cycle.objects.values_list("pk", flat=True)) == started


@pytest.mark.skipif(not POSTGRES, reason="a second connection needs a shared database (the services pass)")
@pytest.mark.django_db(transaction=True)
def test_a_long_in_process_call_keeps_the_lease_alive(settings):
    import time

    from professor.cycle import background_heartbeat

    settings.PROFESSOR_LEASE_SECONDS = 4  # a beat every second
    cycle = start_cycle(None, queue=False)
    lifecycle.claim(Cycle, cycle.pk, worker="w")
    before = Lease.objects.get().expires_at
    with background_heartbeat(cycle.pk):
        time.sleep(2.5)  # a long call (an evaluation) that reports nothing itself
    assert Lease.objects.get().expires_at > before
    assert Cycle.objects.get(pk=cycle.pk).heartbeat_at > cycle.created_at
