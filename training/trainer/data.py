"""Read a dataset snapshot (one JSONL file) in any of the three formats.

Every record becomes a conversation: a list of {"role": system|user|assistant, "content"}
ending with the assistant turn the model learns to produce. The `split` key picks train
or eval; unknown keys are ignored (snapshot contract).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib

from training.trainer.errors import DatasetError

SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
MESSAGE_ROLES = {"system", "user", "assistant"}
MAX_REPORTED = 5


@dataclasses.dataclass(frozen=True)
class Example:
    messages: list[dict]
    split: str
    line: int = 0  # line number in the snapshot file (its row's source record is the lineage)


@dataclasses.dataclass
class Dataset:
    train: list[Example]
    eval: list[Example]
    sha256: str
    format: str
    skipped: list[str]


def load_dataset(path: pathlib.Path, expected_sha256: str | None = None) -> Dataset:
    """Parse the snapshot at path; raise DatasetError when it is missing, corrupt or empty."""
    path = pathlib.Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DatasetError(f"dataset not found: {path}") from exc
    except OSError as exc:
        raise DatasetError(f"dataset {path} cannot be read: {exc}") from exc
    sha = hashlib.sha256(raw).hexdigest()
    if expected_sha256 and sha != expected_sha256:
        raise DatasetError(f"dataset {path} has sha256 {sha}, expected {expected_sha256}")
    train, evals, skipped, formats = [], [], [], set()
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            fmt, messages = to_messages(record)
            split = record.get("split", "train")
            if split not in ("train", "eval"):
                raise ValueError(f'split must be "train" or "eval", not {split!r}')
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            skipped.append(f"line {number}: {exc}")
            continue
        formats.add(fmt)
        (train if split == "train" else evals).append(Example(messages=messages, split=split, line=number))
    if not train:
        reasons = "; ".join(skipped[:MAX_REPORTED])
        raise DatasetError(f"dataset {path} has no usable training example" + (f" ({reasons})" if reasons else ""),
                           details=skipped[:MAX_REPORTED])
    return Dataset(train=train, eval=evals, sha256=sha, format="+".join(sorted(formats)),
                   skipped=skipped)


def to_messages(record: dict) -> tuple[str, list[dict]]:
    """Return (format name, conversation) for one record; raise ValueError if it fits no format."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    if "messages" in record:
        messages = [_message(m["role"], m["content"], MESSAGE_ROLES) for m in record["messages"]]
        fmt = "messages"
    elif "conversations" in record:
        messages = [_sharegpt(m) for m in record["conversations"]]
        fmt = "sharegpt"
    elif "instruction" in record and "output" in record:
        user = str(record["instruction"])
        if record.get("input"):
            user = f"{user}\n\n{record['input']}"
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": str(record["output"])}]
        fmt = "alpaca"
    else:
        raise ValueError("record has none of messages, conversations, instruction/output")
    if not messages or messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
        raise ValueError("conversation must end with a non-empty assistant turn")
    if not any(m["role"] == "user" for m in messages):
        raise ValueError("conversation has no user turn")
    return fmt, messages


def to_alpaca(messages: list[dict]) -> dict:
    """Fold a conversation into instruction/input/output for the Alpaca prompt.

    The last user turn is the instruction; the system prompt and earlier turns become the
    input, so no context is lost when the base model has no chat template.
    """
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    context = [m for i, m in enumerate(messages[:-1]) if i != last_user]
    return {
        "instruction": messages[last_user]["content"],
        "input": "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in context),
        "output": messages[-1]["content"],
    }


def _sharegpt(turn: dict) -> dict:
    role = SHAREGPT_ROLES.get(turn["from"])
    if role is None:
        raise ValueError(f"unknown sharegpt role {turn['from']!r}")
    return _message(role, turn["value"], MESSAGE_ROLES)


def _message(role, content, allowed) -> dict:
    if role not in allowed:
        raise ValueError(f"unknown role {role!r}")
    if not isinstance(content, str):
        raise ValueError(f"content of a {role} turn must be a string")
    return {"role": role, "content": content}

