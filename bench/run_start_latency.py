"""Time from a start request to the first stored metric point, against the bare trainer.

    .venv/bin/python bench/run_start_latency.py [--repeat 3]

Measured in one process, embedded mode (SQLite, in-memory broker, the Celery worker as a
thread of this process), toy base model on CPU, local backend:
- path:     start_run() (validation, sha256 check, row, on_commit queueing) -> the embedded
            worker claims it, writes the spec, launches `python -m training.trainer`, reads
            its stdout -> the first MetricPoint row is visible in the database;
- baseline: the same trainer on the same spec as a bare child process -> its first metric
            line on stdout.
The ratio path/baseline is the cost the orchestration adds. The machine is shared and
noisy: compare the ratio, not the seconds. Fastest of --repeat runs counts.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HP = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 0.02, "batch_size": 4,
      "max_seq_length": 64, "eval_every_steps": 50, "logging_every_steps": 1, "max_steps": 3, "seed": 7,
      "early_stopping_patience": 0}


def _setup(data_dir: Path) -> None:
    os.environ.update(ACADEMY_DATA_DIR=str(data_dir), SECRET_KEY="bench-only", LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="academy_site.settings", ACADEMY_EMBEDDED_WORKER="false",
                      TRAINING_BACKEND="local", ENABLE_GPU="false", TRAINING_WORKER_HEARTBEAT_SECONDS="0")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _snapshot(data_dir: Path):
    from curation.models import DatasetSnapshot

    rows = [{"instruction": f"Which command lists files? #{i}", "input": "", "output": "Use ls to list the files.",
             "split": "eval" if i % 6 == 5 else "train", "source": {"kind": "lesson", "id": i, "ref": f"L{i}"}}
            for i in range(24)]
    body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
    sha = hashlib.sha256(body).hexdigest()
    (data_dir / "datasets").mkdir(parents=True, exist_ok=True)
    (data_dir / "datasets" / f"{sha}.jsonl").write_bytes(body)
    return DatasetSnapshot.objects.get_or_create(sha256=sha, defaults=dict(
        name="bench", format="alpaca", path=f"datasets/{sha}.jsonl", row_count=24, train_count=20, eval_count=4))[0]


def through_the_app(dataset, base_model: str) -> float:
    from django.db import transaction

    from training import services
    from training.models import MetricPoint, TrainingRun

    started = time.perf_counter()
    with transaction.atomic():
        run = services.start_run(None, dataset=dataset, base_model=base_model, backend="local", hyperparameters=HP)
    while not MetricPoint.objects.filter(run=run).exists():
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    while not TrainingRun.objects.get(pk=run.pk).is_terminal:
        time.sleep(0.1)
    return elapsed


def bare_trainer(data_dir: Path, dataset, base_model: str) -> float:
    out = Path(tempfile.mkdtemp(prefix="bare-", dir=data_dir))  # fresh: a kept folder would resume
    spec = {"base_model": base_model, "dataset_path": str(data_dir / dataset.path), "output_dir": str(out),
            "device": "cpu", "hyperparameters": HP}
    (out / "spec.json").write_text(json.dumps(spec))
    started = time.perf_counter()
    errors = open(out / "stderr.log", "w+")  # a file, not a pipe: an undrained pipe could block the trainer
    proc = subprocess.Popen([sys.executable, "-m", "training.trainer", "--spec", str(out / "spec.json")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=errors, text=True)
    elapsed = None
    for line in proc.stdout:
        if elapsed is None and '"event": "metric"' in line:
            elapsed = time.perf_counter() - started
    if proc.wait() != 0 or elapsed is None:
        errors.seek(0)
        raise SystemExit(f"the bare trainer failed: {errors.read()[-2000:]}")
    errors.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="academy-bench-") as tmp:
        data_dir = Path(tmp)
        _setup(data_dir)
        from academy_site import embedded_worker
        from training.base_models import ensure_toy_base

        base_model = str(ensure_toy_base())
        dataset = _snapshot(data_dir)
        embedded_worker.start(with_beat=False)
        try:
            app, bare = [], []
            for _ in range(args.repeat):
                bare.append(bare_trainer(data_dir, dataset, base_model))
                app.append(through_the_app(dataset, base_model))
        finally:
            embedded_worker.stop()
    print("start request -> first metric point (embedded mode, local backend, toy model, CPU)")
    print(f"  bare trainer child process -> first metric line: {min(bare):.2f} s  (runs: "
          + ", ".join(f"{t:.2f}" for t in bare) + ")")
    print(f"  start_run -> first MetricPoint row:               {min(app):.2f} s  (runs: "
          + ", ".join(f"{t:.2f}" for t in app) + ")")
    print(f"  ratio app/bare: {min(app) / min(bare):.2f}  (orchestration overhead {min(app) - min(bare):+.2f} s)")


if __name__ == "__main__":
    main()
