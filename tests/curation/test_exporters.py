import json

import pytest

from curation.pipeline.example import Example
from curation.pipeline.exporters import EXPORTERS
from curation.pipeline.split import assign_splits

LESSON = Example(kind="lesson", id=7, ref="L-7", occurred_at=0.0, instruction="The build failed.",
                 output="Cleared the cache.", split="train")
COMMIT = Example(kind="commit", id=3, ref="ab" * 20, occurred_at=0.0,
                 instruction="Write a commit message for this diff.", input="diff --git a/x b/x",
                 output="fix: clear cache", split="eval")
CHAT = Example(kind="conversation", id=5, ref="task-5", occurred_at=0.0, split="train", turns=[
    {"role": "system", "content": "You are the agent."},
    {"role": "user", "content": "Rename foo."},
    {"role": "assistant", "content": "Which module?"},
    {"role": "user", "content": "utils."},
    {"role": "assistant", "content": "Renamed foo in utils."},
])


def parse(fmt, example):
    line = EXPORTERS[fmt]().line(example)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    return json.loads(line)


def test_alpaca_rows_have_instruction_input_output_split_and_source():
    row = parse("alpaca", COMMIT)
    assert row == {"instruction": "Write a commit message for this diff.", "input": "diff --git a/x b/x",
                   "output": "fix: clear cache", "split": "eval",
                   "source": {"kind": "commit", "id": 3, "ref": "ab" * 20}}


def test_alpaca_turns_a_conversation_into_last_exchange_with_context():
    row = parse("alpaca", CHAT)
    assert row["instruction"] == "utils."
    assert row["output"] == "Renamed foo in utils."
    assert "user: Rename foo." in row["input"] and "assistant: Which module?" in row["input"]


def test_sharegpt_uses_system_human_gpt():
    assert parse("sharegpt", LESSON)["conversations"] == [
        {"from": "human", "value": "The build failed."}, {"from": "gpt", "value": "Cleared the cache."}]
    assert [t["from"] for t in parse("sharegpt", CHAT)["conversations"]] == ["system", "human", "gpt", "human", "gpt"]


def test_messages_use_role_and_content():
    row = parse("messages", COMMIT)
    prompt = "Write a commit message for this diff.\n\ndiff --git a/x b/x"
    assert row["messages"] == [{"role": "user", "content": prompt},
                               {"role": "assistant", "content": "fix: clear cache"}]
    assert row["source"] == {"kind": "commit", "id": 3, "ref": "ab" * 20}
    assert [m["role"] for m in parse("messages", CHAT)["messages"]] == ["system", "user", "assistant", "user",
                                                                        "assistant"]


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_lines_have_sorted_keys_and_keep_unicode(fmt):
    example = Example(kind="lesson", id=1, ref="x", occurred_at=0.0, instruction="Zażółć gęślą jaźń",
                      output="✅ gotowe", split="train")
    line = EXPORTERS[fmt]().line(example).decode()
    assert "Zażółć" in line
    keys = list(json.loads(line))
    assert keys == sorted(keys)


def _examples(n):
    return [Example(kind="lesson", id=i, ref=f"L{i}", occurred_at=0.0) for i in range(n)]


def test_split_is_seeded_and_stable_when_examples_are_added():
    first = _examples(200)
    assign_splits(first, eval_fraction=0.1, seed=1)
    before = {e.id: e.split for e in first}
    assert 5 <= sum(s == "eval" for s in before.values()) <= 40
    more = _examples(260)
    assign_splits(more, eval_fraction=0.1, seed=1)
    assert all(e.split == before[e.id] for e in more if e.id in before)
    other = _examples(200)
    assign_splits(other, eval_fraction=0.1, seed=2)
    assert {e.id: e.split for e in other} != before


def test_split_gives_at_least_one_eval_row_from_two_rows():
    for seed in range(10):
        pair = _examples(2)
        assign_splits(pair, eval_fraction=0.1, seed=seed)
        assert sorted(e.split for e in pair) == ["eval", "train"]
    single = _examples(1)
    assign_splits(single, eval_fraction=0.5, seed=0)
    assert single[0].split == "train"
