"""The promotion policy against training noise: false promotions among same-data retrains, and power.

    .venv/bin/python bench/arena_policy.py [--replicas 10] [--draws 40] [--cache /tmp/arena-policy-cache]

1. A generated domain (a small robot command language: "Move the arm 3 steps left, then open the
   gripper." -> "MOVE LEFT 3; GRIP OPEN") gives 160 training rows and a pool of 320 exam items,
   each with a `regex` check on the command format.
2. The toy base model is trained `--replicas` times on the same rows with the same hyperparameters,
   changing only the seed (the real trainer, a child process each).
3. Each replica and the base model are scored once on every pool item (reference loss, greedy
   answer, check) with the Arena's scoring model; the per-item numbers are cached in --cache, so
   re-deciding is instant and a second run trains nothing.
4. For exam sizes 20, 80 and 320 (random draws from the pool; 320 is the whole pool) every ordered
   pair of replicas is decided by the old policy (percentile bootstrap, promote when low > 0) and
   by the current one, with the seed noise either unknown (margin = ARENA_MIN_EFFECT only) or
   measured from the other replicas (as the registry measures it from sibling versions). Any
   promotion between two seeds of the same recipe is a false promotion. Power: each replica
   against the base model (a candidate trained on the domain) should be promoted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HP = {"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.0, "learning_rate": 3e-3, "batch_size": 4,
      "max_seq_length": 128, "num_epochs": 2, "eval_every_steps": 10_000, "logging_every_steps": 20,
      "early_stopping_patience": 0, "target_modules": "all-linear", "warmup_ratio": 0.0}
DIRECTIONS = ["left", "right", "forward", "back", "up", "down"]
ACTIONS = [("open the gripper", "GRIP OPEN"), ("close the gripper", "GRIP CLOSE"), ("stop", "HALT"),
           ("take a photo", "CAPTURE"), ("beep twice", "BEEP 2"), ("wait a moment", "WAIT 1")]
OPENERS = ["Move the arm {n} steps {d}", "Please shift {n} units {d}", "Go {d} by {n}",
           "Step {d} {n} times", "Nudge the arm {d}, {n} steps"]
CATEGORIES = ["move", "grip", "sequence", "sensor"]


def domain(count: int, seed: int) -> list[dict]:
    """`count` items of the robot command language: prompt, reference answer, category, regex check."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        n, d = rng.randint(1, 9), rng.choice(DIRECTIONS)
        opener = rng.choice(OPENERS).format(n=n, d=d)
        said, command = rng.choice(ACTIONS)
        prompt = f"{opener}, then {said}." if i % 2 else f"{opener}."
        answer = f"MOVE {d.upper()} {n}" + (f"; {command}" if i % 2 else "")
        items.append({"id": f"r{seed}-{i}", "category": CATEGORIES[i % len(CATEGORIES)], "prompt": prompt,
                      "reference": answer, "check": {"type": "regex", "pattern": rf"^MOVE {d.upper()} {n}\b"}})
    return items


def _train(folder: Path, base: Path, rows: list[dict], seed: int) -> Path:
    from tests.training.trainer_fixtures import write_snapshot, write_spec

    folder.mkdir(parents=True, exist_ok=True)
    snapshot = write_snapshot(folder, [
        {"messages": [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["reference"]}],
         "split": "train", "source": {"kind": "lesson", "id": k, "ref": str(k)}} for k, r in enumerate(rows)])
    steps = HP["num_epochs"] * -(-len(rows) // HP["batch_size"])
    spec = write_spec(folder, base, snapshot, folder / "out", **{**HP, "seed": seed, "max_steps": steps})
    proc = subprocess.run([sys.executable, "-m", "training.trainer", "--spec", str(spec)], cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"trainer failed for seed {seed}: {proc.stderr[-2000:]}")
    return folder / "out" / "adapter"


def _score(base: Path, adapters: dict[str, Path], pool: list[dict]) -> dict[str, list[dict]]:
    """{model: [{"loss", "passed"} per pool item]} for each adapter and the base model ("base")."""
    from arena.prompts import generation_prompt, training_texts
    from arena.scoring.checks import run_check
    from arena.scoring.model import ScoringModel
    from models_registry.adapters import read_metadata

    model = ScoringModel(str(base), device="cpu")
    first = next(iter(adapters.values()))
    prompt = read_metadata(first)["prompt"]
    add_bos = bool(prompt.get("add_bos_token"))
    messages = [[{"role": "user", "content": item["prompt"]}] for item in pool]
    pairs = [model.encode(*training_texts(prompt, m, item["reference"]), add_bos=add_bos, max_length=128)
             for m, item in zip(messages, pool, strict=True)]
    prompts = [model.ids(generation_prompt(prompt, m), add_bos=add_bos) for m in messages]
    stop = [prompt.get("eos_token") or "</s>"]
    results = {}
    for name, path in {"base": None, **adapters}.items():
        if path is not None:
            model.add_adapter(name, str(path))
        adapter = name if path is not None else None
        losses = model.losses(adapter, pairs, batch_size=32)
        answers = model.generate(adapter, prompts, max_new_tokens=16, stop=stop, batch_size=32)
        results[name] = [{"loss": loss, "passed": bool(run_check(item["check"], answer, item["reference"])["passed"])}
                         for loss, answer, item in zip(losses, answers, pool, strict=True)]
        print(f"  scored {name}: mean loss {statistics.fmean(r['loss'] for r in results[name]):.4f}, "
              f"checks passed {sum(r['passed'] for r in results[name])}/{len(pool)}", flush=True)
    return results


def build_cache(cache: Path, replicas: int) -> dict:
    """Train the replicas and score every model on the pool once; reuse the cache when it is complete."""
    path = cache / "per_item.json"
    if path.is_file():
        cached = json.loads(path.read_text())
        if len(cached["models"]) - 1 >= replicas:
            return cached
    from tests.training.trainer_fixtures import toy_model

    cache.mkdir(parents=True, exist_ok=True)
    train_rows, pool = domain(160, seed=1), domain(320, seed=2)
    base = toy_model()
    adapters, started = {}, time.perf_counter()
    for seed in range(1, replicas + 1):
        adapters[f"seed{seed}"] = _train(cache / f"seed{seed}", base, train_rows, seed)
        print(f"  trained seed {seed} ({time.perf_counter() - started:.0f} s)", flush=True)
    scored = _score(base, adapters, pool)
    cached = {"pool": pool, "models": scored, "hyperparameters": HP, "train_rows": len(train_rows)}
    path.write_text(json.dumps(cached))
    return cached


# ---------------------------------------------------------------------------- deciding
def old_decide(rows: list[dict], samples: int = 1000) -> str:
    """The policy before this change: percentile bootstrap of the pooled items, promote when low > 0 and
    no category's point estimate is worse than 5% (loss, relative) or its pass rate 5 points lower."""
    import numpy as np

    def interval(diffs):
        diffs = np.asarray(diffs)
        means = diffs[np.random.default_rng(0).integers(0, len(diffs), (samples, len(diffs)))].mean(axis=1)
        return np.percentile(means, 2.5), np.percentile(means, 97.5)

    low, high = interval([r["against_loss"] - r["candidate_loss"] for r in rows])
    if high < 0:
        return "reject"
    worse = False
    for name in {r["category"] for r in rows}:
        group = [r for r in rows if r["category"] == name]
        a = statistics.fmean(r["against_loss"] for r in group)
        c = statistics.fmean(r["candidate_loss"] for r in group)
        drop = statistics.fmean(r["against_passed"] for r in group) - statistics.fmean(
            r["candidate_passed"] for r in group)
        worse = worse or (c - a) / a > 0.05 or drop > 0.05
    return "promote" if low > 0 and not worse else "hold"


def _exam(pool: list[dict], size: int, rng: random.Random) -> list[int]:
    """Indices of an exam of `size` items, the same number from each category (the whole pool at its size)."""
    if size >= len(pool):
        return list(range(len(pool)))
    per = size // len(CATEGORIES)
    return sorted(i for name in CATEGORIES for i in rng.sample(
        [k for k, item in enumerate(pool) if item["category"] == name], per))


def _rows(cached: dict, items: list[int], candidate: str, against: str) -> list[dict]:
    pool, models = cached["pool"], cached["models"]
    return [{"kind": "exam", "key": pool[i]["id"], "category": pool[i]["category"],
             "candidate_loss": models[candidate][i]["loss"], "against_loss": models[against][i]["loss"],
             "candidate_passed": models[candidate][i]["passed"], "against_passed": models[against][i]["passed"]}
            for i in items]


def _noise(cached: dict, items: list[int], replicas: list[str]) -> dict:
    """Seed SDs measured from `replicas` on these items, as arena.replicas measures sibling versions."""
    models = cached["models"]
    loss = [statistics.fmean(models[r][i]["loss"] for i in items) for r in replicas]
    passed = [statistics.fmean(models[r][i]["passed"] for i in items) for r in replicas]
    return {"exam": statistics.stdev(loss), "pass_rate": statistics.stdev(passed),
            "source": f"SD across {len(replicas)} other replicas"}


def report(cached: dict, *, sizes: list[int], draws: int, replicas: int) -> None:
    from django.test import override_settings

    from arena.policy import decide

    names = [f"seed{k}" for k in range(1, replicas + 1)]
    pool = cached["pool"]
    means = [statistics.fmean(r["loss"] for r in cached["models"][n]) for n in names]
    print(f"{replicas} replicas: mean loss on the {len(pool)}-item pool {statistics.fmean(means):.4f}, "
          f"between-seed SD {statistics.stdev(means):.4f} nats/token; base model "
          f"{statistics.fmean(r['loss'] for r in cached['models']['base']):.4f}")
    policies = {
        "old (bootstrap, low > 0)": None,
        "new, seed noise unknown": {"noise": False},
        "new, seed noise measured": {"noise": True},
        "new, ARENA_MIN_EFFECT=0, seed noise unknown": {"noise": False, "ARENA_MIN_EFFECT": 0.0},
        "new, ARENA_MIN_EFFECT=0, seed noise measured": {"noise": True, "ARENA_MIN_EFFECT": 0.0},
    }

    def promoted(policy, rows, items, cand, against, others) -> bool:
        if policies[policy] is None:
            return old_decide(rows) == "promote"
        overrides = {k: v for k, v in policies[policy].items() if k != "noise"}
        noise = _noise(cached, items, others) if policies[policy]["noise"] else None
        with override_settings(**overrides):
            return decide(rows, candidate=cand, against=against, seed_noise=noise)["decision"] == "promote"

    print("| exam items | policy | false promotions between seeds | power: replica vs base promoted |")
    print("|---|---|---|---|")
    rng = random.Random(0)
    for size in sizes:
        exams = [_exam(pool, size, rng) for _ in range(1 if size >= len(pool) else draws)]
        false, power, pairs, powered = dict.fromkeys(policies, 0), dict.fromkeys(policies, 0), 0, 0
        for items in exams:
            for cand in names:
                for against in names:
                    if cand == against:
                        continue
                    rows = _rows(cached, items, cand, against)
                    others = [n for n in names if n not in (cand, against)]
                    pairs += 1
                    for policy in policies:
                        false[policy] += promoted(policy, rows, items, cand, against, others)
                rows = _rows(cached, items, cand, "base")
                others = [n for n in names if n != cand]
                powered += 1
                for policy in policies:
                    power[policy] += promoted(policy, rows, items, cand, "base", others)
        for name in policies:
            print(f"| {size} | {name} | {false[name]}/{pairs} ({false[name] / pairs:.1%}) | "
                  f"{power[name]}/{powered} ({power[name] / powered:.0%}) |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--draws", type=int, default=40, help="random exams per size below the pool size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 80, 320])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "arena-policy-cache")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("ACADEMY_DATA_DIR", str(args.cache / "data"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    cached = build_cache(args.cache, args.replicas)
    report(cached, sizes=args.sizes, draws=args.draws, replicas=args.replicas)


if __name__ == "__main__":
    main()
