"""The trainer's log says what matters: no notices repeated on every run, no minutes of DNS retries."""

import os

from tests.training.trainer_fixtures import of_kind, records, run_trainer, toy_model, write_snapshot, write_spec


def test_a_default_length_above_the_models_positions_is_capped_without_warnings(tmp_path):
    rows = records("alpaca", count=8)
    rows[0]["output"] = "word " * 700  # longer than the toy model's 512 positions
    dataset = write_snapshot(tmp_path, rows)
    spec = write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", max_seq_length=1024, max_steps=2)
    code, events, stderr = run_trainer(spec)
    assert code == 0, stderr[-2000:]
    assert "max_seq_length 1024 is more than the base model's 512 positions: using 512" in stderr
    assert "Token indices sequence length" not in stderr
    assert "FutureWarning" not in stderr
    assert of_kind(events, "done")


def test_an_unknown_hub_id_fails_at_once_when_the_hub_does_not_resolve(tmp_path):
    dataset = write_snapshot(tmp_path, records("alpaca", count=4))
    spec = write_spec(tmp_path, "academy-tests/surely-not-cached", dataset, tmp_path / "run")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    env["HF_ENDPOINT"] = "https://hub.invalid"  # .invalid never resolves (RFC 2606)
    code, events, stderr = run_trainer(spec, env={**env, "HF_HUB_OFFLINE": ""})
    assert code != 0 and events[-1]["kind"] == "model_not_found"
    assert "HF_HUB_OFFLINE=1" in events[-1]["message"]
    assert stderr.count("Retrying") == 0
