"""Each training example's loss under the final adapter: what curation's "hard" and
"likely mislabelled" signals are made of.

Written to <output_dir>/example_losses.jsonl, one {"line", "split", "loss", "tokens"} object
per example, where `line` is the example's line number in the snapshot file; the snapshot's
rows carry their source record, so the Django side maps each loss back to that record.
"""

from __future__ import annotations

import json

from training.trainer.batching import collate
from training.trainer.prompts import IGNORE_INDEX

FILE_NAME = "example_losses.jsonl"


def compute(model, tokenizer, fmt, examples, *, device: str, batch_size: int) -> list[dict]:
    """Mean per-token loss of each example's response given its prompt (examples that do not encode are left out)."""
    import torch
    import torch.nn.functional as F

    encoded = []
    for example in examples:
        try:
            row = fmt.encode(example.messages)
        except Exception:  # noqa: BLE001 - the training pass already reported and skipped it
            continue
        if row is not None:
            encoded.append((example, row))
    encoded.sort(key=lambda pair: len(pair[1]))  # similar lengths per batch: little padding
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    results = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(encoded), batch_size):
            chunk = encoded[start:start + batch_size]
            batch = {k: v.to(device) for k, v in collate([row for _, row in chunk], pad_id).items()}
            labels = batch.pop("labels")[:, 1:]
            logits = model(**batch).logits[:, :-1, :].float()
            per_token = F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                                        ignore_index=IGNORE_INDEX, reduction="none").view(labels.shape)
            counts = (labels != IGNORE_INDEX).sum(dim=1)
            for (example, _), total, count in zip(chunk, per_token.sum(dim=1).tolist(), counts.tolist(),
                                                  strict=True):
                results.append({"line": example.line, "split": example.split, "loss": total / max(count, 1),
                                "tokens": count})
    if was_training:
        model.train()
    results.sort(key=lambda r: r["line"])
    return results


def write(output_dir, results: list[dict]) -> str:
    path = output_dir / FILE_NAME
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in results))
    return FILE_NAME
