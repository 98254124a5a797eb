"""Stage 6: deterministic train/eval split.

Each example's split depends only on the seed and its own source reference, so adding
examples never moves the others between train and eval.
"""

import hashlib


def _score(example, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{example.kind}:{example.ref}:{example.id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(examples: list, *, eval_fraction: float, seed: int) -> None:
    """Set `split` on every example in place. With >= 2 examples there is >= 1 eval and >= 1 train row."""
    scored = [(_score(e, seed), e) for e in examples]
    for score, example in scored:
        example.split = "eval" if score < eval_fraction else "train"
    if len(scored) < 2:
        for _, example in scored:
            example.split = "train"
        return
    splits = {e.split for e in examples}
    if "eval" not in splits and eval_fraction > 0:
        min(scored, key=lambda pair: pair[0])[1].split = "eval"
    if "train" not in splits:
        max(scored, key=lambda pair: pair[0])[1].split = "train"
