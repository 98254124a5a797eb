"""Stages 4 and 5: exact and near-duplicate removal, keeping the newest example of each cluster.

Exact: sha256 of the normalised text (lower case, whitespace collapsed).
Near: MinHash signatures of word shingles (computed in chunks with `MinHash.bulk`) in a
`MinHashLSH` index. Examples are visited newest first; an example whose LSH candidates
include an already kept one with estimated Jaccard >= threshold is dropped, otherwise it is
kept and inserted. Each example costs one query and at most one insert, so the stage grows
linearly with the number of examples. Only kept signatures are stored.
"""

import functools
import hashlib

import numpy as np
from datasketch import MinHash, MinHashLSH

_CHUNK = 4096
_SEED = 1  # fixed: the same inputs always give the same signatures


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def newest_first(examples: list) -> list:
    """Stable order in which the first example seen of a cluster is the newest approved one."""
    return sorted(examples, key=lambda e: (-e.occurred_at, e.kind, -e.id))


def exact_dedup(examples: list) -> tuple[list, list]:
    """Return (kept, dropped); dropped items are (example, reason, source of the kept twin)."""
    seen: dict[bytes, object] = {}
    kept, dropped = [], []
    for example in newest_first(examples):
        digest = hashlib.sha256(normalise(example.text()).encode()).digest()
        twin = seen.get(digest)
        if twin is None:
            seen[digest] = example
            kept.append(example)
        else:
            dropped.append((example, "exact_duplicate", twin.source))
    return kept, dropped


def shingles(text: str, size: int) -> set[bytes]:
    words = normalise(text).split(" ")
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def _band_key(data: bytes) -> int:
    # A short int instead of the band's raw bytes keeps the index small at 100k examples;
    # a rare collision only adds a candidate, which the Jaccard check below rejects.
    return hash(data)


@functools.cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) minimising false positives plus false negatives, with at least 2 bands.

    datasketch's own search picks a single band for high thresholds (0.99 at 128 permutations,
    any threshold at 16) and then refuses it (b < 2). Every LSH candidate is checked against
    the threshold afterwards, so LSH only has to find them: the best split into two or more
    bands serves every threshold up to 1.0.
    """
    grid = np.linspace(0.0, 1.0, 2001)
    below, above = grid <= threshold, grid >= threshold
    best, best_error = (2, num_perm // 2), float("inf")
    for bands in range(2, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            found = 1 - (1 - grid ** rows) ** bands  # probability a pair of similarity s becomes a candidate
            error = (np.trapezoid(found[below], grid[below]) if below.sum() > 1 else 0.0) + \
                (np.trapezoid(1 - found[above], grid[above]) if above.sum() > 1 else 0.0)
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def near_dedup(examples: list, *, threshold: float, num_perm: int, shingle_words: int) -> tuple[list, list]:
    """Return (kept, dropped) after MinHash-LSH near-duplicate removal (see module docstring)."""
    lsh = MinHashLSH(num_perm=num_perm, params=lsh_params(threshold, num_perm), hashfunc=_band_key)
    signatures: dict[int, np.ndarray] = {}
    kept, dropped = [], []
    ordered = newest_first(examples)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        minhashes = MinHash.bulk((shingles(e.text(), shingle_words) for e in chunk), num_perm=num_perm, seed=_SEED)
        for offset, (example, minhash) in enumerate(zip(chunk, minhashes, strict=True)):
            twin = _kept_twin(lsh, signatures, minhash, threshold)
            if twin is not None:
                dropped.append((example, "near_duplicate", ordered[twin].source))
                continue
            key = start + offset
            lsh.insert(key, minhash, check_duplication=False)
            signatures[key] = minhash.hashvalues
            kept.append(example)
    return kept, dropped


def _kept_twin(lsh: MinHashLSH, signatures: dict, minhash: MinHash, threshold: float) -> int | None:
    for key in sorted(lsh.query(minhash)):
        if np.count_nonzero(signatures[key] == minhash.hashvalues) / len(minhash.hashvalues) >= threshold:
            return key
    return None
