"""Feedback to curation on the demo data: are planted bad rows found first?

    .venv/bin/python bench/arena_feedback.py [--model toy|smollm2] [--planted 15] [--epochs N]

Takes the demo lessons (academy_site/demo/lessons.jsonl), plants bad rows among them (half
with the answer of another lesson, half with unrelated text), trains the base model on all of
them with the real trainer (the toy model: LoRA rank 64 on all linear layers, lr 0.02, 8 epochs;
`--model smollm2`: SmolLM2-135M-Instruct, stored as bench/trainer_smollm2.py does, with a CPU-sized
recipe: LoRA r8 on the attention projections, lr 2e-3, batch 8, sequences of at most 128 tokens,
4 epochs, one OpenMP thread), stores each example's final loss against its lesson through the
snapshot lineage (training.feedback.record_example_losses) and compares how many planted rows
a reviewer meets in the first K records:
- baseline: the review queue in its default order (newest first), and the expected share
  when the planted rows are spread evenly;
- "highest loss first", and the "likely mislabelled" filter;
- the filter's precision and recall on the planted rows, as it stands (train-split losses only,
  median + 3 robust SDs, numbers and dates masked before the neighbour check) and as it was (eval
  losses pooled in, mean + 2 SD, raw text), on the same losses. Every 10th clean row is an eval row.
A throwaway SQLite database; nothing else is touched.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Per base model: defaults of --epochs/--lr/--rank and the rest of the training settings.
RECIPES = {
    "toy": {"epochs": 8, "lr": 0.02, "rank": 64,
            "hp": {"max_seq_length": 256, "target_modules": "all-linear"}},
    "smollm2": {"epochs": 4, "lr": 2e-3, "rank": 8,
                "hp": {"max_seq_length": 128, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
                       "logging_every_steps": 5, "warmup_ratio": 0.0}},
}
UNRELATED = ["The harbour lights dim at dawn while gulls circle the fishing boats.",
             "Bread rises slowly in a cold kitchen; bakers wait through the night.",
             "Seven geese crossed the grey river before the first snow.",
             "A violin waits in its velvet case for the evening concert.",
             "The orchard smells of apples and wet leaves after the rain.",
             "Old maps show a coastline that the sea has long since taken."]


def _setup(data_dir: Path) -> None:
    os.environ.update(ACADEMY_DATA_DIR=str(data_dir), SECRET_KEY="bench-only", LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="academy_site.settings", ACADEMY_EMBEDDED_WORKER="false")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(RECIPES), default="toy")
    parser.add_argument("--planted", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=None, help="default: 8 (toy), 4 (smollm2)")
    parser.add_argument("--lr", type=float, default=None, help="default: 0.02 (toy), 2e-3 (smollm2)")
    parser.add_argument("--rank", type=int, default=None, help="default: 64 (toy), 8 (smollm2)")
    parser.add_argument("--top", type=int, nargs="+", default=[10, 20])
    args = parser.parse_args()
    recipe = RECIPES[args.model]
    for name in ("epochs", "lr", "rank"):
        if getattr(args, name) is None:
            setattr(args, name, recipe[name])
    if args.model == "smollm2":
        os.environ["OMP_NUM_THREADS"] = "1"  # one thread: torch's spinning threads are slower on a loaded machine
    scratch = Path(tempfile.mkdtemp(prefix="arena-feedback-"))
    _setup(scratch / "data")
    base = _base_model(args.model, scratch)

    from django.utils import timezone

    from curation.feedback_filters import hardest_first, with_signal
    from curation.models import DatasetSnapshot, ExampleFeedback, Lesson
    from tests.training.trainer_fixtures import write_spec
    from training.feedback import record_example_losses
    from training.models import TrainingRun

    rng = random.Random(0)
    demo = [json.loads(line) for line in Path("academy_site/demo/lessons.jsonl").read_text().splitlines()]
    planted_at = set(rng.sample(range(len(demo)), args.planted))
    lessons, kinds = [], {}
    for i, row in enumerate(demo):
        action = row["action"]
        if i in planted_at:
            swap = len(kinds) % 2 == 0
            action = demo[(i + 37) % len(demo)]["action"] if swap else UNRELATED[len(kinds) % len(UNRELATED)]
        lesson = Lesson.objects.create(situation=row["situation"], action=action, review_status="approved",
                                       content_key=f"{i:064d}", occurred_at=timezone.now())
        if i in planted_at:
            kinds[lesson.pk] = "swapped answer" if swap else "unrelated text"
        lessons.append(lesson)
    rows = [{"instruction": le.situation, "output": le.action,
             "split": "eval" if i % 10 == 9 and le.pk not in kinds else "train",
             "source": {"kind": "lesson", "id": le.pk, "ref": str(le.pk)}} for i, le in enumerate(lessons)]
    data = scratch / "data"
    (data / "snap.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run_dir = data / "runs" / "1"
    run_dir.mkdir(parents=True)
    steps = args.epochs * (len(rows) + 7) // 8
    print(f"training {args.model}; the trainer's events go to {run_dir / 'trainer.log'}", flush=True)
    started = time.monotonic()
    code, stderr, metrics = _train(write_spec(run_dir, base, data / "snap.jsonl", run_dir, max_steps=steps,
                                              num_epochs=args.epochs, batch_size=8, learning_rate=args.lr,
                                              eval_every_steps=10_000, lora_rank=args.rank,
                                              lora_alpha=2 * args.rank, **recipe["hp"]))
    if code != 0:
        raise SystemExit(stderr[-2000:])
    losses = " -> ".join(f"{m['loss']:.3f} (step {m['step']})" for m in metrics[:1] + metrics[-1:])
    print(f"{args.model}: trained in {time.monotonic() - started:.0f} s (model load and per-example losses "
          f"included); train loss {losses}", flush=True)
    snapshot = DatasetSnapshot.objects.create(name="demo+planted", sha256="f" * 64, format="alpaca",
                                              path="snap.jsonl", row_count=len(rows), train_count=len(rows),
                                              eval_count=0)
    run = TrainingRun.objects.create(dataset=snapshot, base_model=str(base), run_dir="runs/1",
                                     status="succeeded")
    stored = record_example_losses(run)
    planted = set(kinds)
    print(f"{len(rows)} demo lessons, {len(planted)} planted ({sum(v == 'swapped answer' for v in kinds.values())} "
          f"swapped answers, {sum(v == 'unrelated text' for v in kinds.values())} unrelated text); "
          f"{steps} steps; {stored} losses stored")
    queues = {
        "default order (newest first)": list(Lesson.objects.order_by("-occurred_at", "-id").values_list(
            "pk", flat=True)),
        "highest loss first": list(hardest_first(Lesson.objects.all()).values_list("pk", flat=True)),
    }
    mislabelled = list(hardest_first(with_signal(Lesson.objects.all(), "mislabelled")).values_list("pk", flat=True))
    print("| queue | " + " | ".join(f"planted in first {k}" for k in args.top) + " |")
    print("|---|" + "---|" * len(args.top))
    expected = [k * len(planted) / len(rows) for k in args.top]
    print("| even spread (expected) | " + " | ".join(f"{e:.1f}" for e in expected) + " |")
    for name, order in queues.items():
        print(f"| {name} | " + " | ".join(str(len(planted & set(order[:k]))) for k in args.top) + " |")
    found = planted & set(mislabelled)
    print(f"'likely mislabelled' filter: {len(mislabelled)} records, {len(found)} planted "
          f"(precision {len(found) / max(len(mislabelled), 1):.0%}, recall {len(found) / len(planted):.0%}); "
          f"by kind: " + ", ".join(f"{kind} {sum(1 for pk in found if kinds[pk] == kind)}"
                                   for kind in ("swapped answer", "unrelated text")))
    loss = dict(ExampleFeedback.objects.values_list("source_id", "train_loss"))
    for kind in ("swapped answer", "unrelated text"):
        mean = sum(loss[pk] for pk in planted if kinds[pk] == kind) / max(1, sum(v == kind for v in kinds.values()))
        print(f"mean final loss, {kind}: {mean:.3f}")
    _compare_filters(run_dir, rows, planted, set(mislabelled))
    clean = [loss[le.pk] for le in lessons if le.pk not in planted and le.pk in loss]
    print(f"mean final loss, clean rows: {sum(clean) / len(clean):.3f}")


def _old_flags(run_dir: Path, rows: list[dict]) -> set[int]:
    """The filter before this change, on the same losses: every split pooled, mean + 2 SD, raw-text neighbours."""
    import statistics

    from datasketch import MinHash, MinHashLSH

    from curation.pipeline.dedup import shingles

    entries = [json.loads(line) for line in (run_dir / "example_losses.jsonl").read_text().splitlines() if line]
    losses = {rows[e["line"] - 1]["source"]["id"]: e["loss"] for e in entries}
    values = list(losses.values())
    limit = statistics.fmean(values) + 2 * statistics.pstdev(values)
    flagged = {pk for pk, loss in losses.items() if loss > limit}
    texts = {r["source"]["id"]: (r["instruction"], r["output"]) for r in rows}
    words = {pk: (set(p.lower().split()), set(a.lower().split())) for pk, (p, a) in texts.items()}
    jaccard = lambda a, b: len(a & b) / len(a | b) if a or b else 1.0  # noqa: E731
    lsh, signatures = MinHashLSH(threshold=0.6, num_perm=64), {}
    for pk, (prompt, _answer) in texts.items():
        signature = MinHash(num_perm=64, seed=1)
        for shingle in shingles(prompt, 2) or {b""}:
            signature.update(shingle)
        signatures[pk] = signature
        lsh.insert(str(pk), signature)
    for pk in texts:
        agree = disagree = 0
        for other in map(int, lsh.query(signatures[pk])):
            if other == pk or jaccard(words[pk][0], words[other][0]) < 0.6:
                continue
            if jaccard(words[pk][1], words[other][1]) < 0.2:
                disagree += 1
            else:
                agree += 1
        if disagree > agree:
            flagged.add(pk)
    return flagged


def _compare_filters(run_dir: Path, rows: list[dict], planted: set[int], current: set[int]) -> None:
    print("| 'likely mislabelled' filter | flagged | planted among them | precision | recall |")
    print("|---|---|---|---|---|")
    for name, flagged in (("before (all splits, mean + 2 SD, raw text)", _old_flags(run_dir, rows)),
                          ("now (train split, median + 3 robust SD, masked)", current)):
        found = planted & flagged
        print(f"| {name} | {len(flagged)} | {len(found)} | {len(found) / max(len(flagged), 1):.0%} | "
              f"{len(found) / len(planted):.0%} |")


def _base_model(name: str, scratch: Path) -> Path:
    """The base model folder of `name`: the toy model, or SmolLM2 (converted into `scratch` when not cached)."""
    if name == "smollm2":
        import torch

        from bench.trainer_smollm2 import smollm2_snapshot

        torch.set_num_threads(1)
        return smollm2_snapshot(scratch)
    from tests.training.trainer_fixtures import toy_model

    return toy_model()


def _train(spec_path: Path) -> tuple[int, str, list[dict]]:
    """The real trainer as a child process (no time limit: this machine is slow and shared).

    Returns (exit code, stderr, metric events); the events also go to trainer.log next to the spec.
    """
    import subprocess

    log = spec_path.parent / "trainer.log"
    with log.open("w") as out:
        proc = subprocess.run([sys.executable, "-m", "training.trainer", "--spec", str(spec_path)],
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=out, stderr=subprocess.PIPE,
                              text=True)
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return proc.returncode, proc.stderr, [e for e in events if e.get("event") == "metric"]


if __name__ == "__main__":
    main()
