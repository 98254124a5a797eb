"""Hot swap under load: serving answers while 10 promotions/rollbacks happen.

    .venv/bin/python bench/hot_swap.py [--clients 4] [--steady 6] [--swaps 10] [--gap 0.5] [--max-tokens 8]

In-process, with threads: each client thread is a Django test Client posting to
/v1/chat/completions (token auth, JSON parsing, the serving runtime, the engine: the whole
view stack, without a socket) against a throwaway SQLite database in WAL mode, on the
toy base model with two LoRA adapters. A phase of steady load is the baseline; then the
same load runs while the main thread alternately promotes v2 and rolls back to v1 through
the registry services (10 changes), each followed by --gap seconds of load.

Reported: failed requests (target 0), p50/p99 latency during swaps against steady state
(ratio; target <= 2x), and the time from each promote/rollback call to the first answer
produced by the new adapter. The machine is shared and noisy (2 cores): compare ratios.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BODY = {"model": "bench-line", "messages": [{"role": "user", "content": "What is a lesson?"}]}


def _setup(data_dir: Path) -> None:
    os.environ.update(ACADEMY_DATA_DIR=str(data_dir), SECRET_KEY="bench-only", LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="academy_site.settings", ACADEMY_EMBEDDED_WORKER="false",
                      ALLOWED_HOSTS="testserver,localhost")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fixtures(data_dir: Path):
    from models_registry import services
    from tests.factories import make_token, make_user
    from tests.models_registry.factories import make_line, make_version
    from tests.models_registry.tiny_models import build_toy_set

    toy = build_toy_set(data_dir / "toy")
    admin = make_user("bench-admin", "Admin")
    token = make_token(make_user("bench-agent", "Viewer"), "Viewer")
    line = make_line(name="bench-line", base_model=str(toy["base"]))
    v1 = make_version(line, adapter_src=toy["a"])
    v2 = make_version(line, adapter_src=toy["b"])
    services.promote_version(v1, admin, "bench start")
    return admin, token, line, v1, v2


class Load:
    """Client threads posting chat completions, recording (start, end, label or error)."""

    def __init__(self, token: str, clients: int, max_tokens: int):
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        self.body = {**BODY, "max_tokens": max_tokens}
        self.records: list[tuple[float, float, str | None]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(clients)]

    def _run(self):
        from django.db import connections
        from django.test import Client

        client = Client()
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                response = client.post("/v1/chat/completions", self.body, content_type="application/json",
                                       **self.headers)
                label = response.json()["system_fingerprint"].split(":")[1] if response.status_code == 200 else None
            except Exception:  # a failed request, counted below
                label = None
            self.records.append((start, time.perf_counter(), label))
        connections.close_all()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--steady", type=float, default=6.0, help="seconds of steady load (baseline)")
    parser.add_argument("--swaps", type=int, default=10)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds of load after each swap")
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="academy-hotswap-"))
    _setup(data_dir)
    from models_registry import services

    admin, token, line, v1, v2 = _fixtures(data_dir)
    with Load(token, args.clients, args.max_tokens) as load:
        time.sleep(1.0)  # warm-up: base model and first adapter load
        steady_from = time.perf_counter()
        time.sleep(args.steady)
        swaps_from = time.perf_counter()
        changes = []
        for i in range(args.swaps):
            target = "v2" if i % 2 == 0 else "v1"
            t0 = time.perf_counter()
            if target == "v2":
                services.promote_version(v2, admin, f"bench swap {i}")
            else:
                services.rollback_line(line, admin, f"bench rollback {i}")
            changes.append((t0, time.perf_counter(), target))
            time.sleep(args.gap)
        swaps_to = time.perf_counter()
    steady = [e - s for s, e, lab in load.records if steady_from <= s and e <= swaps_from and lab]
    during = [e - s for s, e, lab in load.records if swaps_from <= s and e <= swaps_to and lab]
    failed = sum(1 for *_, lab in load.records if lab is None)
    to_first = []
    for t0, _, target in changes:
        firsts = [e for s, e, lab in load.records if s >= t0 and lab == target]
        if firsts:
            to_first.append(min(firsts) - t0)
    promote_call = [t1 - t0 for t0, t1, _ in changes]
    ratio = _pct(during, 0.99) / _pct(steady, 0.99)
    print(f"clients={args.clients} requests={len(load.records)} swaps={len(changes)} max_tokens={args.max_tokens}")
    print(f"failed requests: {failed}")
    print(f"steady: n={len(steady)} p50={_pct(steady, .5):.1f} ms p99={_pct(steady, .99):.1f} ms")
    print(f"during swaps: n={len(during)} p50={_pct(during, .5):.1f} ms p99={_pct(during, .99):.1f} ms")
    print(f"p99 ratio during/steady: {ratio:.2f}x (target <= 2x)")
    print(f"promote/rollback call: median {statistics.median(promote_call) * 1000:.0f} ms, "
          f"max {max(promote_call) * 1000:.0f} ms")
    if to_first:
        print(f"promote -> first answer from new adapter: median {statistics.median(to_first) * 1000:.0f} ms, "
              f"max {max(to_first) * 1000:.0f} ms ({len(to_first)}/{len(changes)} swaps observed)")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
