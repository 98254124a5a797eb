"""Batches: length-grouped (default) or packed, padded to the longest row of each batch.

Padding to the longest example of a random batch wastes most of the compute when lengths
vary; grouping similar lengths (as transformers' LengthGroupedSampler does) or packing
several short examples into one row keeps the useful fraction high.
The schedule of epoch e depends only on (seed, e), so a resumed run replays it exactly.
"""

from __future__ import annotations

import random

from training.trainer.prompts import IGNORE_INDEX, Encoded

MEGABATCH_FACTOR = 50


def epoch_batches(rows: list[Encoded], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices of rows per batch for one epoch: shuffled, then sorted by length within megabatches."""
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(rows)))
    rng.shuffle(order)
    size = batch_size * MEGABATCH_FACTOR
    batches = []
    for start in range(0, len(order), size):
        mega = sorted(order[start : start + size], key=lambda i: len(rows[i]), reverse=True)
        batches.extend(mega[i : i + batch_size] for i in range(0, len(mega), batch_size))
    if len(batches) > 1:
        # The longest batch goes first so an out-of-memory shows up at step one, not at hour three.
        longest = max(range(len(batches)), key=lambda b: len(rows[batches[b][0]]))
        first = batches.pop(longest)
        rng.shuffle(batches)
        batches.insert(0, first)
    return batches


def pack(rows: list[Encoded], max_seq_length: int, seed: int) -> list[tuple[Encoded, list[int]]]:
    """Concatenate examples into rows of at most max_seq_length tokens (first-fit decreasing).

    Returns (row, position_ids) pairs; positions restart at 0 for each example so every
    example sees the position embeddings it would see alone.
    """
    order = sorted(range(len(rows)), key=lambda i: (-len(rows[i]), random.Random(seed + i).random()))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = len(rows[i])
        slot = next((b for b, free in enumerate(room) if free >= n), None)
        if slot is None:
            bins.append([i])
            room.append(max_seq_length - n)
        else:
            bins[slot].append(i)
            room[slot] -= n
    packed = []
    for members in bins:
        ids, labels, positions = [], [], []
        for i in members:
            ids += rows[i].input_ids
            labels += rows[i].labels
            positions += list(range(len(rows[i])))
        packed.append((Encoded(input_ids=ids, labels=labels), positions))
    return packed


def collate(rows: list[Encoded], pad_id: int, positions: list[list[int]] | None = None) -> dict:
    """Right-pad a batch to its longest row; returns tensors for the model plus the token counts."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for n, row in enumerate(rows):
        ids[n, : len(row)] = torch.tensor(row.input_ids)
        labels[n, : len(row)] = torch.tensor(row.labels)
        mask[n, : len(row)] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    if positions is not None:
        pos = torch.zeros((len(rows), width), dtype=torch.long)
        for n, p in enumerate(positions):
            pos[n, : len(p)] = torch.tensor(p)
        batch["position_ids"] = pos
    return batch
