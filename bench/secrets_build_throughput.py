"""Dataset-build throughput with the new secret detector vs the scrubber it replaced, and how
much a build in embedded mode stalls the server's thread.

    .venv/bin/python bench/secrets_build_throughput.py [--sizes 10000,100000] [--repeat 2]

For each size, the synthetic lessons of bench/dataset_build.py (2% of them with a secret, and
words such as "token", "key" and "secret" all through the text) go through `run_pipeline`
(scrub, filters, exact and near dedup, split, statistics):
- before: the regex scrubber of commit 9aa9b63's parent, loaded from git history;
- after: curation.secrets (RE2 rules, keyword context, entropy);
- after, child: the same in a spawned process (`run_pipeline_in_process`, embedded mode),
  including pickling the examples there and back.
Variants alternate, best of --repeat; the ratio after/before is the result.

Stall: while a build of the largest size runs in a worker thread (the embedded worker) or
in a child process, the main thread (standing in for the web server) sleeps 10 ms in a loop
and records how late each wake-up is. p50 / p99 / max lateness per mode.
"""

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

LEGACY_COMMIT = "9aa9b63^"


def _legacy_scrubber():
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{LEGACY_COMMIT}:curation/pipeline/secrets.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "legacy_secrets.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("legacy_secrets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _examples(n: int, seed: int):
    from dataset_build import lessons

    from curation.pipeline.example import Example

    return [Example(kind="lesson", id=i + 1, ref=f"L{i + 1}", occurred_at=r["occurred_at"],
                    instruction=r["situation"], output=r["action"], outcome=r["result"])
            for i, r in enumerate(lessons(n, seed))]


def _run(variant: str, n: int, seed: int, legacy) -> tuple[float, int, int]:
    from curation.pipeline import secrets
    from curation.pipeline.config import build_config
    from curation.pipeline.isolated import run_pipeline_in_process
    from curation.pipeline.runner import run_pipeline

    examples = _examples(n, seed)
    config = build_config({"sources": ["lessons"]})
    original = secrets.scrub_example, secrets.scrub_text
    if variant == "before":
        secrets.scrub_example, secrets.scrub_text = legacy.scrub_example, legacy.scrub_text
    try:
        run = run_pipeline_in_process if variant == "after, child" else run_pipeline
        started = time.perf_counter()
        result = run(examples, config)
        seconds = time.perf_counter() - started
    finally:
        secrets.scrub_example, secrets.scrub_text = original
    return seconds, len(result.examples), sum(result.stats["secrets_found"].values())


def _scrub_stage(variant: str, n: int, seed: int, legacy) -> float:
    from curation.pipeline import secrets

    scrub = legacy.scrub_example if variant == "before" else secrets.scrub_example
    examples = _examples(n, seed)
    started = time.perf_counter()
    for example in examples:
        scrub(example)
    return time.perf_counter() - started


def _stall(mode: str, n: int, seed: int) -> dict:
    from curation.pipeline.config import build_config
    from curation.pipeline.isolated import run_pipeline_in_process
    from curation.pipeline.runner import run_pipeline

    examples = _examples(n, seed)
    config = build_config({"sources": ["lessons"]})
    run = run_pipeline_in_process if mode == "child process" else run_pipeline
    worker = threading.Thread(target=run, args=(examples, config))
    late = []
    worker.start()
    while worker.is_alive():
        before = time.perf_counter()
        time.sleep(0.01)
        late.append((time.perf_counter() - before - 0.01) * 1000)
    worker.join()
    late.sort()
    return {"samples": len(late), "p50_ms": round(statistics.median(late), 2),
            "p99_ms": round(late[int(len(late) * 0.99) - 1], 2), "max_ms": round(late[-1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-stall", action="store_true", help="skip the stall measurement")
    args = parser.parse_args()
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["ACADEMY_EMBEDDED_WORKER"] = "false"
    import django

    django.setup()
    legacy = _legacy_scrubber()
    sizes = [int(size) for size in args.sizes.split(",")]
    variants = ("before", "after", "after, child")
    print(f"{'lessons':>8} {'variant':>13} {'pipeline s':>10} {'scrub s':>8} {'rows':>7} {'redacted':>8} "
          f"{'vs before':>9}")
    for n in sizes:
        best = {variant: None for variant in variants}
        scrub = {variant: None for variant in variants[:2]}
        for _ in range(args.repeat):
            for variant in variants:
                seconds, rows, found = _run(variant, n, args.seed, legacy)
                if best[variant] is None or seconds < best[variant][0]:
                    best[variant] = (seconds, rows, found)
            for variant in variants[:2]:
                seconds = _scrub_stage(variant, n, args.seed, legacy)
                scrub[variant] = min(seconds, scrub[variant] or seconds)
        for variant in variants:
            seconds, rows, found = best[variant]
            stage = f"{scrub[variant]:>8.2f}" if variant in scrub else f"{'':>8}"
            print(f"{n:>8} {variant:>13} {seconds:>10.2f} {stage} {rows:>7} {found:>8} "
                  f"{seconds / best['before'][0]:>9.2f}")
    largest = max(sizes)
    for mode in () if args.no_stall else ("worker thread", "child process"):
        stall = _stall(mode, largest, args.seed)
        print(f"stall of the main thread during a {largest:,}-lesson build in a {mode}: {stall}")


if __name__ == "__main__":
    main()
