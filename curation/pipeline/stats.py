"""Statistics of a built dataset: counts per source and split, token-length histograms.

Token counts are approximate and tokenizer-independent: words (runs of letters, digits and
underscores) plus each punctuation character count as one token. Real BPE tokenizers
typically give 1-1.5x this number for English prose and more for code.
"""

import re
from collections import Counter

_TOKEN = re.compile(r"\w+|[^\w\s]")
BIN_EDGES = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]


def count_tokens(text: str) -> int:
    return sum(1 for _ in _TOKEN.finditer(text))


def _bin(tokens: int) -> int:
    for index in range(len(BIN_EDGES) - 1, -1, -1):
        if tokens >= BIN_EDGES[index]:
            return index
    return 0


def _histogram(values: list[int]) -> dict:
    counts = Counter(_bin(v) for v in values)
    labels = [f"{low}-{high - 1}" for low, high in zip(BIN_EDGES, BIN_EDGES[1:], strict=False)]
    labels.append(f"{BIN_EDGES[-1]}+")
    return {
        "labels": labels,
        "counts": [counts.get(i, 0) for i in range(len(BIN_EDGES))],
        "min": min(values, default=0), "max": max(values, default=0),
        "mean": round(sum(values) / len(values), 1) if values else 0,
    }


def compute_stats(examples: list, secrets_found: Counter) -> dict:
    prompt = [count_tokens(e.prompt_text()) for e in examples]
    response = [count_tokens(e.response_text()) for e in examples]
    return {
        "rows": len(examples),
        "per_source": dict(sorted(Counter(e.kind for e in examples).items())),
        "per_split": dict(sorted(Counter(e.split for e in examples).items())),
        "per_source_split": {f"{kind}/{split}": n
                             for (kind, split), n in sorted(Counter((e.kind, e.split) for e in examples).items())},
        "tokens": {"prompt": _histogram(prompt), "response": _histogram(response),
                   "total": _histogram([p + r for p, r in zip(prompt, response, strict=True)])},
        "tokenizer": "approximate: \\w+ runs and single punctuation characters",
        "secrets_found": dict(sorted(secrets_found.items())),
    }
