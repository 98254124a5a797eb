"""Resuming loads checkpoints weights-only: a checkpoint file carrying a pickled object that runs
code when loaded is refused, and an honest checkpoint still resumes (the real trainer, toy model)."""

import pathlib

import pytest

from tests.training.trainer_fixtures import of_kind, records, run_trainer, toy_model, write_snapshot, write_spec

torch = pytest.importorskip("torch", reason="needs the train extra (torch)")


class Payload:
    """Unpickling this runs exec(): what a planted checkpoint file would do to the trainer's host."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def test_a_checkpoint_with_a_malicious_pickle_is_refused_without_running_it(tmp_path):
    from training.trainer import checkpoints

    marker = tmp_path / "payload-ran"
    planted = tmp_path / "step-4" / "optimizer.pt"
    planted.parent.mkdir()
    torch.save({"state": {}, "param_groups": [], "extra": Payload(marker)}, planted)
    with pytest.raises(checkpoints.CheckpointRefused, match="step-4/optimizer.pt holds more than tensors"):
        checkpoints._load(planted)
    assert not marker.exists()
    torch.load(planted, weights_only=False)  # the old loader: the payload runs
    assert marker.read_text() == "ran"


def test_the_trainer_refuses_to_resume_from_a_planted_checkpoint(tmp_path):
    dataset = write_snapshot(tmp_path, records("alpaca"))
    first = write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", max_steps=4, eval_every_steps=2)
    code, events, stderr = run_trainer(first)
    assert code == 0, stderr[-2000:]
    marker = tmp_path / "payload-ran"
    torch.save({"python": Payload(marker)}, tmp_path / "run" / "checkpoints" / "step-4" / "rng.pt")

    second = write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", max_steps=6, eval_every_steps=2)
    code, events, stderr = run_trainer(second)
    assert code != 0 and not marker.exists()
    error = of_kind(events, "error")[-1]
    assert error["kind"] == "spec" and "step-4/rng.pt holds more than tensors and plain values" in error["message"]


def test_every_file_of_an_honest_checkpoint_loads_weights_only(tmp_path):
    """(Resuming from one is test_trainer.py's test_it_resumes_from_the_last_checkpoint.)"""
    from training.trainer import checkpoints

    dataset = write_snapshot(tmp_path, records("alpaca"))
    code, _, stderr = run_trainer(write_spec(tmp_path, toy_model(), dataset, tmp_path / "run", max_steps=2,
                                             eval_every_steps=2))
    assert code == 0, stderr[-2000:]
    folder = tmp_path / "run" / "checkpoints" / "step-2"
    assert checkpoints._load(folder / "optimizer.pt")["param_groups"][0]["betas"] == (0.9, 0.999)
    assert checkpoints._load(folder / "scheduler.pt")["lr_lambdas"] == [None]
    assert isinstance(checkpoints._load(folder / "rng.pt")["python"], tuple)
