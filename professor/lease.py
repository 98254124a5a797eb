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

from professor.models import Lease

CYCLE_LEASE = "cycle"


@dataclass
class Taken:
    """The lease is ours; `previous` is the cycle whose expired lease we took over (or None)."""

    previous_cycle_id: int | None
    previous_heartbeat_at: object = None


class LeaseBusy(Exception):
    """Another cycle holds the lease; str() says since when."""

    def __init__(self, cycle_id: int | None, since):
        self.cycle_id, self.since = cycle_id, since
        when = timezone.localtime(since).strftime("%Y-%m-%d %H:%M:%S %Z") if since else "a moment ago"
        super().__init__(f"a cycle is already running since {when} (cycle {cycle_id})")


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
        raise LeaseBusy(holder.get("cycle_id"), holder.get("acquired_at"))
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
