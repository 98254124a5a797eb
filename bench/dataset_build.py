"""Dataset build end to end at 10k, 30k and 100k synthetic lessons: time, peak memory, scaling.

    .venv/bin/python bench/dataset_build.py [--sizes 10000,30000,100000] [--db-size 10000] [--seed 0]

What is measured:
1. Pipeline (one fresh Python process per size, so peak memory is clean): secret scrubbing,
   filters, exact dedup, MinHash-LSH near dedup, split, statistics and the JSONL export with
   hashing and fsync - everything a build does after reading the rows. Input: synthetic
   lessons with ~5% exact duplicates (case/whitespace changed), ~5% near duplicates (one
   word changed), ~2% secrets and ~3% failed outcomes. The 10k run is the baseline: the
   result is the time per example at each size divided by that at 10k (1.0 = linear).
   Each size runs --repeat times (default 2) and the fastest run counts.
2. Database end to end at --db-size: the same lessons inserted into a throwaway SQLite
   database (not timed), then `run_build` (read the approved rows, pipeline, file,
   snapshot row), to show what reading from the database adds.

Peak memory is the process's maximum resident set size (includes Python, Django and numpy,
about 60-80 MiB before any work). The machine is shared and noisy: compare ratios.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("build cache deploy server token request timeout retry queue worker database index migration schema "
         "branch commit merge rebase test fixture mock config setting secret key lockfile package version "
         "release pipeline runner container image volume network proxy certificate log metric alert trace "
         "memory thread process socket file folder path permission user role session cookie header payload "
         "parser encoder model adapter dataset sample batch epoch gradient loss checkpoint tokenizer prompt").split()
SECRETS = ["ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "password = \"hunter2hunter2\"",
           "AWS key AKIAIOSFODNN7EXAMPLE", "export API_TOKEN=abcdef123456"]


def _setup_django(data_dir: str) -> None:
    os.environ.update(ACADEMY_DATA_DIR=data_dir, SECRET_KEY="bench-only", LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="academy_site.settings", ACADEMY_EMBEDDED_WORKER="false")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def lessons(n: int, seed: int) -> list[dict]:
    """Deterministic synthetic lessons (dicts of situation, action, result, occurred_at)."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for i in range(n):
        roll = rng.random()
        if rows and roll < 0.05:  # exact duplicate after normalisation
            src = rng.choice(rows)
            row = {**src, "situation": "  " + src["situation"].upper(), "action": src["action"] + "\n"}
        elif rows and roll < 0.10:  # near duplicate: one word replaced
            src = rng.choice(rows)
            words = src["action"].split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            row = {**src, "action": " ".join(words)}
        else:
            row = {"situation": " ".join(rng.choices(WORDS, k=rng.randint(15, 40))).capitalize() + ".",
                   "action": " ".join(rng.choices(WORDS, k=rng.randint(25, 70))).capitalize() + ".",
                   "result": "SUKCES ✅"}
        if rng.random() < 0.02:
            row = {**row, "action": row["action"] + "\n" + rng.choice(SECRETS)}
        if rng.random() < 0.03:
            row = {**row, "result": "PORAŻKA ❌"}
        rows.append({**row, "occurred_at": 1_700_000_000.0 + i})
    return rows


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def work_pipeline(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        _setup_django(data_dir)
        from curation.pipeline.config import build_config
        from curation.pipeline.example import Example
        from curation.pipeline.runner import run_pipeline
        from curation.snapshots import write_snapshot_file

        examples = [Example(kind="lesson", id=i + 1, ref=f"L{i + 1}", occurred_at=r["occurred_at"],
                            instruction=r["situation"], output=r["action"], outcome=r["result"])
                    for i, r in enumerate(lessons(n, seed))]
        config = build_config({"sources": ["lessons"]})
        started = time.perf_counter()
        result = run_pipeline(examples, config)
        pipeline_s = time.perf_counter() - started
        sha, _, _ = write_snapshot_file(result.examples, "alpaca")
        total = time.perf_counter() - started
        return {"n": n, "seconds": round(total, 3), "pipeline_seconds": round(pipeline_s, 3),
                "export_seconds": round(total - pipeline_s, 3), "rows": len(result.examples),
                "funnel": {s["stage"]: s["dropped"] for s in result.funnel if s["dropped"]},
                "secrets_found": sum(result.stats["secrets_found"].values()), "peak_rss_mib": _peak_mib(),
                "sha256": sha}


def work_db(n: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        _setup_django(data_dir)
        from django.core.management import call_command

        from curation.models import Lesson, ReviewStatus
        from curation.services.datasets import run_build, start_build

        call_command("migrate", verbosity=0)
        Lesson.objects.bulk_create([
            Lesson(situation=r["situation"], action=r["action"], result=r["result"], content_key=f"bench-{i}",
                   review_status=ReviewStatus.APPROVED,
                   occurred_at=datetime.fromtimestamp(r["occurred_at"], tz=UTC))
            for i, r in enumerate(lessons(n, seed))], batch_size=2000)
        build = start_build(None, name="bench", format="alpaca", overrides={"sources": ["lessons"]}, queue=False)
        started = time.perf_counter()
        build = run_build(build.pk)
        seconds = time.perf_counter() - started
        assert build.status == "succeeded", build.error
        return {"n": n, "seconds": round(seconds, 3), "rows": build.snapshot.row_count, "peak_rss_mib": _peak_mib()}


def _child(kind: str, n: int, seed: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--n", str(n), "--seed", str(seed)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--db-size", type=int, default=10000, help="0 skips the database run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="runs per size; the fastest counts (noisy machine)")
    parser.add_argument("--worker", choices=("pipeline", "db"))
    parser.add_argument("--n", type=int)
    args = parser.parse_args()
    if args.worker:
        work = work_pipeline if args.worker == "pipeline" else work_db
        print(json.dumps(work(args.n, args.seed)))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"dataset build benchmark, {os.cpu_count()} CPU cores (shared, noisy: read the ratios)")
    print(f"{'lessons':>8} {'rows out':>8} {'total s':>8} {'pipeline':>8} {'export':>7} {'us/ex':>7} "
          f"{'vs 10k':>6} {'peak MiB':>8}  dropped per stage")
    base = None
    for n in sizes:
        r = min((_child("pipeline", n, args.seed) for _ in range(args.repeat)), key=lambda run: run["seconds"])
        per = r["seconds"] / n * 1e6
        base = base or per
        print(f"{n:>8} {r['rows']:>8} {r['seconds']:>8.2f} {r['pipeline_seconds']:>8.2f} {r['export_seconds']:>7.2f} "
              f"{per:>7.1f} {per / base:>6.2f} {r['peak_rss_mib']:>8.1f}  {r['funnel']}, "
              f"secrets redacted: {r['secrets_found']}")
    if args.db_size:
        r = _child("db", args.db_size, args.seed)
        pipe = _child("pipeline", args.db_size, args.seed)
        print(f"database end to end at {args.db_size}: {r['seconds']:.2f} s (run_build: read rows + pipeline + file "
              f"+ snapshot row), pipeline alone {pipe['seconds']:.2f} s, ratio {r['seconds'] / pipe['seconds']:.2f}, "
              f"peak {r['peak_rss_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
