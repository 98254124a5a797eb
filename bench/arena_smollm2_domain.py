"""Does fine-tuning SmolLM2 on a narrow domain raise its pass rate on unseen items of that domain, and at what cost?

    .venv/bin/python bench/arena_smollm2_domain.py [--train 300] [--exam 30] [--epochs 1] [--lr 0.0005] [--replay 40]

The domain is a made-up robot command language, generated from a seed:
"Move the gripper 7 cm left." -> "GRIPPER LEFT 7". The base model has never seen it. Train
examples and exam items never share a text: the exam uses distances that no train example uses,
and half of its items also use (part, direction) pairs that no train example combines.
Each exam item is checked exactly (the whole answer, stripped). The defaults are the recipe that kept
the basics (docs/benchmarks.md): 2 epochs at lr 2e-3 with no replay learned the domain but lost them.

Everything goes through Academy: a throwaway SQLite database and data folder; the stored
SmolLM2 snapshot (from the test cache, tests/real_model.py); the snapshot JSONL registered as a
DatasetSnapshot; `manage.py train --in-process` with the project's trainer (LoRA, its child
process, one OpenMP thread: bench/trainer_smollm2.py measured one thread ~10x faster on this
loaded machine); register_run_version; the exam imported as the line's exam (the domain items
plus the default exam's "basics" category, the "elsewhere"); start_evaluation against the base
model and run_evaluation, which scores with arena.evaluation and decides with arena.policy.
Printed: a table of pass rates per category and side with Wilson 95% intervals, the policy's
paired (Agresti-Min) interval of the difference, the ratio of pass rates, and the verdict.
"""

import argparse
import hashlib
import io
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTS = ["arm", "gripper", "base", "head", "camera", "wrist"]
DIRECTIONS = {"left": "LEFT", "right": "RIGHT", "up": "UP", "down": "DOWN", "forward": "FWD", "back": "BACK"}
TEMPLATES = ["Move the {part} {n} cm {dir}.", "Move the {part} {dir} by {n} cm.",
             "Shift the {part} {n} centimetres {dir}.", "Please move the {part} {n} cm {dir}.",
             "The {part} should go {n} cm {dir}."]
INSTRUCTION = "Translate into the robot command language: {text}"
DOMAIN = "robot"
# Replay (--replay N): general questions answered by the base model itself, mixed into the train split so
# the adapter keeps the base model's behaviour outside the domain. The answers are the base model's own
# (right or wrong), never references, so replay cannot teach an exam answer; none is an exam prompt.
REPLAY_TEMPLATES = [
    ("What is the capital of {}? Answer in one word.", ["Italy", "Japan", "Spain", "Germany", "Canada", "Egypt",
                                                         "Norway", "Brazil", "Kenya", "Greece"]),
    ("What is {} + {}? Answer with the number only.", [(4, 4), (7, 1), (6, 3), (10, 5), (12, 8), (9, 9),
                                                        (1, 1), (20, 30)]),
    ("Which shell command {}? Answer with the command only.", ["copies a file", "moves or renames a file",
                                                               "removes a file", "shows the contents of a file",
                                                               "searches text in files", "changes directory"]),
    ("Which git command {}? Answer with the command only.", ["records a commit", "shows the commit history",
                                                             "downloads a repository", "creates a branch"]),
    ("In one sentence, what is {}?", ["a variable", "a database", "an operating system", "a web browser",
                                      "photosynthesis", "gravity", "a compiler", "an API"]),
    ("Which Python keyword {}? Answer with the keyword only.", ["defines a function", "starts a loop over items",
                                                                "defines a class", "imports a module"]),
]


def replay_questions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    questions = [template.format(*(v if isinstance(v, tuple) else (v,))) for template, values in REPLAY_TEMPLATES
                 for v in values]
    rng.shuffle(questions)
    return questions[:count]


def self_distilled(questions: list[str], max_new_tokens: int) -> list[dict]:
    """Train rows: each question with the base model's own greedy answer, rendered as the Arena renders it."""
    from arena.prompts import generation_prompt
    from arena.scoring.model import ScoringModel
    from tests.real_model import NAME
    from training.trainer.prompts import PromptFormat

    model = ScoringModel(NAME, device="cpu")
    block = PromptFormat(model.tokenizer, 512).metadata()
    add_bos = bool(block.get("add_bos_token"))
    prompts = [model.ids(generation_prompt(block, [{"role": "user", "content": q}]), add_bos=add_bos)
               for q in questions]
    answers = model.generate(None, prompts, max_new_tokens=max_new_tokens, stop=block["stop"], batch_size=8)
    return [{"instruction": q, "input": "", "output": a.strip(), "split": "train",
             "source": {"kind": "synthetic", "id": 10_000 + i, "ref": f"replay-{i + 1}"}}
            for i, (q, a) in enumerate(zip(questions, answers, strict=True)) if a.strip()]


def domain(train_size: int, exam_size: int, seed: int) -> tuple[list[dict], list[dict], dict]:
    """(train rows, exam items, what was held out): no exam text, distance or unseen pair occurs in training."""
    rng = random.Random(seed)
    numbers = list(range(1, 61))
    rng.shuffle(numbers)
    exam_numbers, train_numbers = sorted(numbers[:12]), sorted(numbers[12:])
    pairs = [(p, d) for p in PARTS for d in DIRECTIONS]
    rng.shuffle(pairs)
    # Six pairs only the exam combines; each part and each direction still occurs in training.
    unseen_pairs = [(PARTS[i], list(DIRECTIONS)[(i + 2) % len(DIRECTIONS)]) for i in range(len(PARTS))]
    seen_pairs = [p for p in pairs if p not in unseen_pairs]

    def render(part, direction, n, template):
        text = INSTRUCTION.format(text=template.format(part=part, dir=direction, n=n))
        return text, f"{part.upper()} {DIRECTIONS[direction]} {n}"

    train, texts = [], set()
    while len(train) < train_size:
        part, direction = rng.choice(seen_pairs)
        text, answer = render(part, direction, rng.choice(train_numbers), rng.choice(TEMPLATES))
        if text in texts:
            continue
        texts.add(text)
        train.append({"instruction": text, "input": "", "output": answer,
                      "split": "eval" if len(train) % 10 == 9 else "train",
                      "source": {"kind": "synthetic", "id": len(train) + 1, "ref": f"robot-{len(train) + 1}"}})
    exam, exam_texts = [], set()
    while len(exam) < exam_size:
        unseen = len(exam) % 2 == 1
        part, direction = rng.choice(unseen_pairs if unseen else seen_pairs)
        text, answer = render(part, direction, rng.choice(exam_numbers), rng.choice(TEMPLATES))
        if text in exam_texts:
            continue
        exam_texts.add(text)
        exam.append({"id": f"{DOMAIN}-{len(exam) + 1:02d}", "category": DOMAIN, "prompt": text, "reference": answer,
                     "check": {"type": "exact", "value": answer}, "unseen_pair": unseen})
    assert not texts & exam_texts
    held_out = {"exam_distances": exam_numbers, "unseen_pairs": [f"{p} {d}" for p, d in unseen_pairs]}
    return train, exam, held_out


def wilson(passed: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = passed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _setup(data_dir: Path, max_new_tokens: int) -> None:
    os.environ.update(ACADEMY_DATA_DIR=str(data_dir), SECRET_KEY="bench-only", LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="academy_site.settings", ACADEMY_EMBEDDED_WORKER="false",
                      ARENA_MAX_NEW_TOKENS=str(max_new_tokens), ARENA_DEVICE="cpu", HF_HUB_OFFLINE="1")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _snapshot(rows: list[dict]):
    from django.conf import settings

    from curation.models import DatasetSnapshot

    body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
    sha = hashlib.sha256(body).hexdigest()
    folder = Path(settings.DATA_DIR) / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{sha}.jsonl").write_bytes(body)
    train = sum(r["split"] == "train" for r in rows)
    return DatasetSnapshot.objects.create(name="robot commands", sha256=sha, format="alpaca",
                                          path=f"datasets/{sha}.jsonl", row_count=len(rows), train_count=train,
                                          eval_count=len(rows) - train)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=300)
    parser.add_argument("--exam", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=0, help="0: the epochs decide")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--replay", type=int, default=40, help="general rows answered by the base model itself")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # the trainer's child inherits it
    scratch = Path(tempfile.mkdtemp(prefix="arena-smollm2-domain-"))
    _setup(scratch / "data", args.max_new_tokens)

    import torch
    from django.core.management import call_command

    from arena import services
    from arena.exams import DEFAULT_EXAM_PATH
    from jobs.models import JobStatus
    from models_registry.services import register_run_version
    from tests.real_model import NAME, install_snapshot
    from training import model_store
    from training.models import MetricPoint, TrainingRun

    torch.set_num_threads(1)
    install_snapshot(model_store.models_root())
    train_rows, exam_items, held_out = domain(args.train, args.exam, args.seed)
    replay = self_distilled(replay_questions(args.replay, args.seed), 40) if args.replay else []
    exam_prompts = {item["prompt"] for item in exam_items}
    assert not exam_prompts & {row["instruction"] for row in replay}
    dataset = _snapshot(train_rows + replay)
    settings_ = {"batch_size": args.batch, "gradient_accumulation": 1, "max_seq_length": 128 if replay else 96,
                 "learning_rate": args.lr, "lora_rank": args.rank, "lora_alpha": 2 * args.rank, "lora_dropout": 0.0,
                 "num_epochs": args.epochs, "warmup_ratio": 0.05, "logging_every_steps": 10,
                 "eval_every_steps": 10_000, "early_stopping_patience": 0, "seed": args.seed}
    if args.max_steps:
        settings_["max_steps"] = args.max_steps
    sets = [f"{k}={v}" for k, v in settings_.items()]
    print(f"# domain: robot commands; {dataset.train_count} train + {dataset.eval_count} eval rows, "
          f"{len(exam_items)} unseen exam items (distances {held_out['exam_distances']}; pairs only the exam "
          f"combines: {', '.join(held_out['unseen_pairs'])}); {len(replay)} of the train rows are replay",
          flush=True)
    started = time.perf_counter()
    call_command("train", "--dataset", dataset.sha256, "--base", NAME, "--backend", "local", "--wait",
                 "--in-process", *[x for s in sets for x in ("--set", s)], stdout=io.StringIO())
    train_s = time.perf_counter() - started
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.SUCCEEDED, run.error
    losses = list(MetricPoint.objects.filter(run=run, kind=MetricPoint.Kind.TRAIN).order_by("step")
                  .values_list("step", "loss"))
    steps = losses[-1][0] if losses else None
    print(f"# trained: {steps} steps in {train_s:.0f} s ({train_s / max(steps or 1, 1):.1f} s/step, model load "
          f"included), train loss {losses[0][1]:.3f} -> {losses[-1][1]:.3f}; settings {' '.join(sets)}", flush=True)
    version = register_run_version(run)

    basics = [json.loads(line) for line in Path(DEFAULT_EXAM_PATH).read_text().splitlines() if line.strip()]
    basics = [item for item in basics if item["category"] == "basics"]
    records = [{k: v for k, v in item.items() if k != "unseen_pair"} for item in exam_items] + basics
    services.import_exam([json.dumps(r) for r in records], version.line, system=True)
    evaluation = services.start_evaluation(version.line, version.label, "base")
    started = time.perf_counter()
    done = services.run_evaluation(evaluation.pk)
    eval_s = time.perf_counter() - started
    if done.status != "succeeded":
        raise SystemExit(f"evaluation {done.status}: {done.human_error}\n{done.error[-3000:]}")
    verdict = done.verdict
    items = list(done.items.all())
    unseen_keys = {item["id"] for item in exam_items if item["unseen_pair"]}
    groups = {"robot (unseen distances)": [i for i in items if i.category == DOMAIN and i.key not in unseen_keys],
              "robot (unseen distance and pair)": [i for i in items if i.key in unseen_keys],
              "robot (all unseen items)": [i for i in items if i.category == DOMAIN],
              "basics (elsewhere)": [i for i in items if i.category == "basics"]}
    print(f"# evaluation {done.pk} against the base model: {eval_s:.0f} s, max_new_tokens {args.max_new_tokens}, "
          f"torch threads {torch.get_num_threads()}")
    print("| items | n | base passed | base rate [Wilson 95%] | tuned passed | tuned rate [Wilson 95%] | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, group in groups.items():
        n = len(group)
        base_p = sum(bool(i.against_passed) for i in group)
        tuned_p = sum(bool(i.candidate_passed) for i in group)
        bl, bh = wilson(base_p, n)
        tl, th = wilson(tuned_p, n)
        ratio = f"{tuned_p / base_p:.1f}x" if base_p else ("inf" if tuned_p else "-")
        print(f"| {name} | {n} | {base_p} | {base_p / n:.0%} [{bl:.0%}, {bh:.0%}] | {tuned_p} | "
              f"{tuned_p / n:.0%} [{tl:.0%}, {th:.0%}] | {ratio} |")
    for name in (DOMAIN, "basics"):
        cat = verdict["categories"][name]
        d = cat["pass_difference"]
        print(f"# {name}: paired pass-rate difference (Agresti-Min, the policy's) {d['mean']:+.2f} "
              f"[{d['low']:+.2f}, {d['high']:+.2f}], discordant {d['discordant']}; loss {cat['against_loss']:.3f} "
              f"-> {cat['candidate_loss']:.3f} per token")
    print(f"# verdict: {verdict['decision']}")
    for reason in verdict["reasons"]:
        print(f"#   - {reason}")
    for item in [i for i in items if i.category == DOMAIN][:4]:
        print(f"# e.g. {item.messages[-1]['content']!r}: base {item.against_answer[:40]!r}, "
              f"tuned {item.candidate_answer[:40]!r}")


if __name__ == "__main__":
    main()
