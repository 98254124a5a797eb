"""Per-process serving state: which adapter each line serves, and the swap between them.

Each request checks the line's active version (a cached query, at most one per
SERVING_ACTIVE_TTL seconds), so a promotion made in another process is noticed here. A
swap loads the new adapter next to the old one, then moves the line's pointer; requests
hold a lease on the adapter they started with, and an old adapter is unloaded only when
its last lease ends.
"""

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from models_registry.adapters import base_model_source, local_folder
from models_registry.models import Canary, CanaryState, ModelVersion
from training import model_store


class NoActiveVersion(LookupError):
    """The line exists but has no active version to serve."""


@dataclass(frozen=True)
class Served:
    version_id: int
    label: str
    line: str
    adapter_name: str
    prompt: dict
    line_id: int | None = None


_state_lock = threading.Lock()  # guards the dicts below; never held during model work
_engines: dict = {}
_engine_locks: dict[str, threading.Lock] = {}
_current: dict[str, Served] = {}
_leases: Counter = Counter()
_retired: dict[str, object] = {}  # adapter name -> engine, waiting for its last lease
_checked: dict[str, tuple[float, int | None]] = {}
_served_engines: dict[str, object] = {}  # adapter name -> the engine holding it
_swap_locks: dict[str, threading.Lock] = {}
_canaries: dict[str, tuple[float, tuple | None]] = {}  # line -> (checked at, (canary id, candidate id, share))
_pins: dict[str, Served] = {}  # line -> the canary candidate kept loaded (holds one lease while it runs)


def reset() -> None:
    """Forget every engine and pointer (tests; a fresh process starts this way)."""
    with _state_lock:
        for store in (_engines, _engine_locks, _current, _leases, _retired, _checked, _swap_locks, _served_engines,
                      _canaries, _pins):
            store.clear()


def engine_for(base_model: str, *, version: ModelVersion | None = None):
    """The process-wide engine of a base model, loaded on first use only.

    Given the version to serve, its base model is found through the artifact layer (fetched
    and sha256-checked where this host lacks it: adapters.base_model_source).
    """
    with _state_lock:
        lock = _engine_locks.setdefault(base_model, threading.Lock())
    with lock:
        if base_model not in _engines:
            from models_registry.serving.engine import Engine

            source = base_model_source(version) if version is not None else base_model
            _engines[base_model] = Engine(_base_path(source))
        return _engines[base_model]


def _base_path(base_model: str) -> str:
    """The folder to load: a stored model by its short name, a local folder, else the id as given."""
    stored = model_store.resolve(base_model)
    if stored is not None:
        return str(stored)
    local = Path(settings.DATA_DIR) / base_model
    return str(local) if not Path(base_model).is_absolute() and local.exists() else base_model


def _active_id(line: str) -> int | None:
    now = time.monotonic()
    checked = _checked.get(line)
    if checked and now - checked[0] < settings.SERVING_ACTIVE_TTL:
        return checked[1]
    version_id = ModelVersion.objects.active().filter(line__name=line).values_list("id", flat=True).first()
    _checked[line] = (now, version_id)
    return version_id


def acquire(line: str):
    """Lease the adapter now serving `line` (swapping first if the active version changed)."""
    version_id = _active_id(line)
    if version_id is None:
        raise NoActiveVersion(line)
    served = _current.get(line)
    if served is None or served.version_id != version_id:
        swap_to(ModelVersion.objects.select_related("line").get(pk=version_id))
    with _state_lock:
        served = _current[line]
        _leases[served.adapter_name] += 1
        return served, _served_engines[served.adapter_name]


def acquire_version(version: ModelVersion):
    """Lease `version`'s adapter whether or not it is active (the dashboard's playground tries candidates).

    The active version goes through acquire(); any other is loaded beside the served one and
    unloaded again when its last lease ends.
    """
    if _active_id(version.line.name) == version.pk:
        return acquire(version.line.name)
    served, engine = _lease_loaded(version)
    with _state_lock:
        _served_engines[served.adapter_name] = engine
        if not _kept(served.adapter_name):
            _retired[served.adapter_name] = engine  # unloaded by the release of its last lease
    return served, engine


def release(served: Served) -> None:
    """End a lease; unload adapters that are retired and no longer used."""
    with _state_lock:
        _leases[served.adapter_name] -= 1
        idle = [(name, eng) for name, eng in _retired.items() if _leases[name] <= 0]
        for name, _ in idle:
            del _retired[name]
    for name, eng in idle:
        eng.unload_adapter(name, keep=lambda n=name: _in_use(n))


def _in_use(name: str) -> bool:
    # Asked under the engine lock right before unloading: a swap back to this adapter or a
    # new lease since the decision keeps it.
    with _state_lock:
        return _leases[name] > 0 or _kept(name)


def _kept(name: str) -> bool:
    # Under _state_lock: a line serves this adapter, or a running canary keeps it loaded.
    return any(s.adapter_name == name for s in (*_current.values(), *_pins.values()))


def _served(version: ModelVersion) -> Served:
    return Served(version.pk, version.label, version.line.name, version.adapter_name, version.prompt, version.line_id)


def _lease_loaded(version: ModelVersion) -> tuple[Served, object]:
    """Lease `version`'s adapter and load it into its base model's engine unless it is there already.

    The lease is taken before loading, so no unload races the load; the caller ends it with
    release(). A failed load releases it before the error propagates.
    """
    engine = engine_for(version.base_model, version=version)
    served = _served(version)
    with _state_lock:
        _retired.pop(served.adapter_name, None)
        _leases[served.adapter_name] += 1
    try:
        if served.adapter_name not in engine.adapters:  # hashed (and fetched) only when not loaded yet
            engine.load_adapter(served.adapter_name, str(local_folder(version)))
    except BaseException:
        release(served)
        raise
    return served, engine


def swap_to(version: ModelVersion) -> Served:
    """Load `version`'s adapter beside the current one, then point the line at it."""
    line = version.line.name
    with _state_lock:
        swap_lock = _swap_locks.setdefault(line, threading.Lock())
    with swap_lock:
        served = _current.get(line)
        if served is not None and served.version_id == version.pk:
            return served
        new, engine = _lease_loaded(version)  # the lease ends once the line points at it
        try:
            with _state_lock:
                _served_engines[new.adapter_name] = engine
                old = _current.get(line)
                _current[line] = new  # the atomic switch: new requests lease the new adapter
                _checked[line] = (time.monotonic(), version.pk)
                if old is not None and old.adapter_name != new.adapter_name and not _kept(old.adapter_name):
                    _retired[old.adapter_name] = engine
        finally:
            release(new)
        return new


def notify_activated(version: ModelVersion) -> None:
    """Called after a promotion commits: swap now if this process already serves the base model."""
    if version.base_model in _engines:
        swap_to(version)  # also refreshes the cached active id
    else:
        _checked.pop(version.line.name, None)


# -- canaries: a candidate answering a share of a line's conversations beside the active version

def _running_canary(line: str) -> tuple | None:
    now = time.monotonic()
    checked = _canaries.get(line)
    if checked and now - checked[0] < settings.SERVING_ACTIVE_TTL:
        return checked[1]
    row = Canary.objects.filter(line__name=line, state=CanaryState.RUNNING).values_list(
        "id", "candidate_id", "share").first()
    _canaries[line] = (now, row)
    if row is None and line in _pins:
        _unpin(line)
    return row


def in_canary(canary_id: int, key: str, share: float) -> bool:
    """Whether the conversation `key` is answered by the candidate: a hash, so the same key always lands alike."""
    digest = hashlib.sha256(f"{canary_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < share


def route(line: str, key: str | None):
    """Lease the adapter that answers conversation `key` on `line`: the canary's candidate for its
    share of keys while one runs, else the active version. Returns (served, engine, canary id or None)."""
    canary = _running_canary(line) if key is not None else None
    if canary is not None:
        canary_id, candidate_id, share = canary
        if in_canary(canary_id, key, share):
            served = _pin(line, candidate_id)
            with _state_lock:
                if _pins.get(line) is served:  # else the canary ended meanwhile: the active version answers
                    _leases[served.adapter_name] += 1
                    return served, _served_engines[served.adapter_name], canary_id
    served, engine = acquire(line)
    return served, engine, canary[0] if canary is not None else None


def _pin(line: str, version_id: int) -> Served:
    """Keep the canary's candidate loaded beside the active adapter (one lease held until unpinned)."""
    pinned = _pins.get(line)
    if pinned is not None and pinned.version_id == version_id:
        return pinned
    with _state_lock:
        swap_lock = _swap_locks.setdefault(line, threading.Lock())
    with swap_lock:
        pinned = _pins.get(line)
        if pinned is not None and pinned.version_id == version_id:
            return pinned
        version = ModelVersion.objects.select_related("line").get(pk=version_id)
        new, engine = _lease_loaded(version)  # the pin's own lease
        with _state_lock:
            _served_engines[new.adapter_name] = engine
            old = _pins.get(line)
            _pins[line] = new
        if old is not None:
            _retire_pin(old)
        return new


def _unpin(line: str) -> None:
    with _state_lock:
        old = _pins.pop(line, None)
    if old is not None:
        _retire_pin(old)


def _retire_pin(old: Served) -> None:
    with _state_lock:
        if not _kept(old.adapter_name):
            _retired[old.adapter_name] = _served_engines.get(old.adapter_name)
    release(old)  # ends the pin's lease; unloads once no request uses it


def loaded_adapters(base_model: str) -> set[str]:
    """Adapters the engine of `base_model` holds now (empty if none is loaded)."""
    engine = _engines.get(base_model)
    return set(engine.adapters) if engine is not None else set()


def notify_canary(line: str) -> None:
    """Called after a canary starts or ends: re-read it on the next request (unpinning an ended one)."""
    _canaries.pop(line, None)
    _running_canary(line)
