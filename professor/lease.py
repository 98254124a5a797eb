"""The one-cycle-at-a-time lease, stored in the database.

A cycle holds the lease while it runs and renews it with every heartbeat; the lease expires
PROFESSOR_LEASE_SECONDS after the last one. Taking it is one conditional UPDATE (free or
expired -> mine), so two triggers racing on PostgreSQL or SQLite cannot both win, and a
worker killed mid-cycle leaves a lease that simply runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jobs.models import JobStatus
from professor.models import Cycle, Lease

CYCLE_LEASE = "cycle"


@dataclass
class Taken:
    """The lease is ours; `previous` is the cycle whose expired lease we took over (or None)."""

    previous_cycle_id: int | None
    previous_heartbeat_at: object = None


class LeaseBusy(Exception):
    """Another cycle holds the lease; str() says whether it runs or still waits for a worker, and since when."""

    def __init__(self, cycle_id: int | None, since, status: str = "running"):
        self.cycle_id, self.since, self.status = cycle_id, since, status
        super().__init__(describe_holder(cycle_id, since, status))


def describe_holder(cycle_id: int | None, since, status: str) -> str:
    """"a cycle is already running since ... (cycle 7)", or "already queued since ..." while no worker took it."""
    when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M:%S %Z") if since else "a moment ago"
    if status == "queued":
        return f"a cycle is already queued since {when}, waiting for a worker (cycle {cycle_id})"
    return f"a cycle is already running since {when} (cycle {cycle_id})"


def holder_state(cycle_id: int | None, acquired_at) -> tuple[str, object]:
    """The holding cycle's state and since when: queued since the lease was taken, or running since its claim."""
    row = Cycle.objects.filter(pk=cycle_id).values("status", "started_at").first() if cycle_id else None
    if row is not None and row["status"] == JobStatus.QUEUED:
        return "queued", acquired_at
    return "running", (row or {}).get("started_at") or acquired_at


def _expiry(now):
    return now + timedelta(seconds=settings.PROFESSOR_LEASE_SECONDS)


def _ensure_row() -> None:
    if Lease.objects.filter(name=CYCLE_LEASE).exists():
        return
    try:
        with transaction.atomic():
            Lease.objects.create(name=CYCLE_LEASE)
    except IntegrityError:
        pass  # created concurrently: fine


def acquire(cycle_id: int, *, now=None) -> Taken:
    """Take the lease for `cycle_id`, or raise LeaseBusy naming the holder and since when."""
    _ensure_row()
    now = now or timezone.now()
    before = Lease.objects.filter(name=CYCLE_LEASE).values("cycle_id", "heartbeat_at", "expires_at").first()
    free = Q(cycle__isnull=True) | Q(expires_at__isnull=True) | Q(expires_at__lte=now)
    changed = Lease.objects.filter(free, name=CYCLE_LEASE).update(
        cycle_id=cycle_id, acquired_at=now, heartbeat_at=now, expires_at=_expiry(now))
    if changed != 1:
        holder = Lease.objects.filter(name=CYCLE_LEASE).values("cycle_id", "acquired_at").first() or {}
        status, since = holder_state(holder.get("cycle_id"), holder.get("acquired_at"))
        raise LeaseBusy(holder.get("cycle_id"), since, status)
    expired = before and before["cycle_id"] and before["cycle_id"] != cycle_id
    return Taken(before["cycle_id"] if expired else None, before["heartbeat_at"] if expired else None)


def renew(cycle_id: int, *, now=None) -> bool:
    """Heartbeat: push the expiry out; False when the lease is no longer ours (it expired and was taken)."""
    now = now or timezone.now()
    return Lease.objects.filter(name=CYCLE_LEASE, cycle_id=cycle_id).update(
        heartbeat_at=now, expires_at=_expiry(now)) == 1


def release(cycle_id: int) -> bool:
    return Lease.objects.filter(name=CYCLE_LEASE, cycle_id=cycle_id).update(
        cycle=None, expires_at=None) == 1


def holder() -> Lease | None:
    """The lease row when a cycle holds it now, else None."""
    lease = Lease.objects.filter(name=CYCLE_LEASE).first()
    return lease if lease is not None and lease.is_held else None
