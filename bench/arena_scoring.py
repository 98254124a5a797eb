"""Arena scoring: wall time against the number of items, batched against one item at a time.

    .venv/bin/python bench/arena_scoring.py [--items 8 32 96] [--batch 16] [--max-new-tokens 16]

For each item count N (half exam questions, half holdout-like examples of varied length), on
the toy base model with one LoRA adapter, in one process:
- reference loss of every item for both sides of a comparison (adapter, then the base model
  with the adapter disabled), batched (--batch rows, length-sorted) and one at a time;
- greedy answers for both sides, batched and one at a time (--max-new-tokens each);
and checks that both ways give the same losses (max abs difference) and the same answers.
The ratio one-at-a-time / batched is the result; the machine is shared and noisy (2 cores).
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ("list files folder git commit branch python function test error cache build deploy query index "
         "table column migration server request response token model adapter lesson review dataset").split()


def _items(n: int, seed: int = 0) -> list[tuple[list[dict], str]]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        prompt_words = rng.randint(6, 40) if i % 2 else rng.randint(4, 12)
        answer_words = rng.randint(4, 60) if i % 2 else rng.randint(2, 10)
        prompt = " ".join(rng.choice(WORDS) for _ in range(prompt_words)) + "?"
        answer = " ".join(rng.choice(WORDS) for _ in range(answer_words)) + "."
        items.append(([{"role": "user", "content": prompt}], answer))
    return items


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, nargs="+", default=[8, 32, 96])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()

    import torch

    from arena.prompts import generation_prompt, training_texts
    from arena.scoring.model import ScoringModel
    from tests.models_registry.tiny_models import build_adapter
    from training.trainer.tiny_base import CHAT_TEMPLATE, build_tiny_base

    prompt_block = {"style": "chat_template", "template": CHAT_TEMPLATE, "eos_token": "</s>", "stop": ["</s>"]}
    with tempfile.TemporaryDirectory() as scratch:
        base = build_tiny_base(Path(scratch) / "base", seed=0)
        adapter = build_adapter(base, Path(scratch) / "adapter", seed=1)
        model = ScoringModel(str(base), device="cpu")
        model.add_adapter("candidate", str(adapter))
        warm = [model.encode(*training_texts(prompt_block, m, ref), add_bos=False, max_length=512)
                for m, ref in _items(4, seed=9)]
        model.losses("candidate", warm, batch_size=4)  # first-call costs (allocations, kernels) stay out
        model.generate("candidate", [p for p, _ in warm], max_new_tokens=2, stop=[], batch_size=4)
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
              f"max_new_tokens {args.max_new_tokens}")
        print("| items | loss batched s | loss 1-by-1 s | ratio | answers batched s | answers 1-by-1 s | ratio "
              "| total batched s | total 1-by-1 s | ratio | max loss diff | same answers |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for n in args.items:
            items = _items(n)
            pairs = [model.encode(*training_texts(prompt_block, m, ref), add_bos=False, max_length=512)
                     for m, ref in items]
            prompts = [model.ids(generation_prompt(prompt_block, m), add_bos=False) for m, _ in items]
            row = {}
            for mode, size in (("batched", args.batch), ("single", 1)):
                loss_s, losses = _timed(lambda size=size, pairs=pairs: [model.losses(side, pairs, batch_size=size)
                                                           for side in ("candidate", None)])
                gen_s, answers = _timed(lambda size=size, prompts=prompts: [model.generate(
                    side, prompts, max_new_tokens=args.max_new_tokens, stop=["</s>"], batch_size=size)
                    for side in ("candidate", None)])
                row[mode] = (loss_s, gen_s, losses, answers)
            (lb, gb, losses_b, answers_b), (l1, g1, losses_1, answers_1) = row["batched"], row["single"]
            diff = max(abs(a - b) for side_b, side_1 in zip(losses_b, losses_1, strict=True)
                       for a, b in zip(side_b, side_1, strict=True))
            same = sum(a == b for side_b, side_1 in zip(answers_b, answers_1, strict=True)
                       for a, b in zip(side_b, side_1, strict=True))
            print(f"| {n} | {lb:.2f} | {l1:.2f} | {l1 / lb:.1f}x | {gb:.2f} | {g1:.2f} | {g1 / gb:.1f}x "
                  f"| {lb + gb:.2f} | {l1 + g1:.2f} | {(l1 + g1) / (lb + gb):.1f}x | {diff:.1e} | {same}/{2 * n} |",
                  flush=True)


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academy_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django

    django.setup()
    main()
