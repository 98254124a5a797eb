"""PostgreSQL sessions held by one web process through bursts of concurrent API requests.

Runs the real server (`manage.py serve`, uvicorn) against a fresh PostgreSQL database, once
with the old setting as the baseline (no pool, a persistent connection per request thread kept
for CONN_MAX_AGE=60 s) and once with the pool (DB_POOL_MAX). For each it fires bursts of
concurrent authenticated lesson POSTs and reports the sessions on the database before, at the
peak (sampled every 50 ms), and 2 s after each burst, with the answers' status codes.

    .venv/bin/python bench/db_burst.py [--clients 50] [--bursts 2] [--pool-max 10]

The baseline holds up to `clients` sessions on the shared server for a minute: keep --clients
well under PostgreSQL's max_connections on a machine others use.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.academy_site.test_db_pool import (  # noqa: E402  (needs the repository on sys.path)
    TOKEN_FILE,
    PostgresDatabase,
    Sampler,
    burst,
    postgres_admin_url,
    serve,
)


def measure(label: str, env: dict, clients: int, bursts: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, PostgresDatabase(postgres_admin_url()) as database, \
            serve(database, Path(tmp) / "data", env) as server:
        token = (Path(tmp) / "data" / TOKEN_FILE).read_text().strip()
        for number in range(1, bursts + 1):
            before = database.connections()
            started = time.monotonic()
            with Sampler(database) as sampler:
                codes = burst(server.base, token, clients)
            seconds = time.monotonic() - started
            time.sleep(2)
            rows.append({"setting": label, "burst": number, "before": before, "peak": sampler.peak,
                         "after": database.connections(), "seconds": seconds,
                         "codes": dict(sorted(Counter(codes).items()))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=2)
    parser.add_argument("--pool-max", type=int, default=10)
    args = parser.parse_args()
    rows = measure("baseline: no pool, CONN_MAX_AGE=60", {"DB_POOL_MAX": "0", "DB_CONN_MAX_AGE": "60"},
                   args.clients, args.bursts)
    rows += measure(f"pool: DB_POOL_MAX={args.pool_max}", {"DB_POOL_MAX": str(args.pool_max)},
                    args.clients, args.bursts)
    print(f"{args.clients} concurrent lesson POSTs per burst, one uvicorn process (embedded worker inside)")
    print(f"{'setting':<38} {'burst':>5} {'before':>6} {'peak':>5} {'after':>5} {'s':>6}  answers")
    for row in rows:
        print(f"{row['setting']:<38} {row['burst']:>5} {row['before']:>6} {row['peak']:>5} {row['after']:>5} "
              f"{row['seconds']:>6.1f}  {row['codes']}")
    baseline = max(r["peak"] for r in rows if r["setting"].startswith("baseline"))
    pooled = max(r["peak"] for r in rows if r["setting"].startswith("pool"))
    print(f"peak sessions: baseline {baseline}, pool {pooled} (ratio {baseline / max(pooled, 1):.1f}x)")


if __name__ == "__main__":
    main()
