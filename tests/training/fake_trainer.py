"""FakeTrainer: a protocol-speaking stand-in for `python -m training.trainer`, for backend mechanics tests.

Run as `python -m tests.training.fake_trainer --spec spec.json`; FAKE_TRAINER_MODE picks the
behaviour: ok, crash, oom, hang (until SIGTERM), noadapter, stderr_events.
"""

import json
import os
import pathlib
import signal
import sys
import time


def emit(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def write_adapter(out: pathlib.Path) -> None:
    adapter = out / "adapter"
    adapter.mkdir(parents=True, exist_ok=True)
    (adapter / "adapter_config.json").write_text('{"r": 2}')
    (adapter / "adapter_model.safetensors").write_bytes(b"fake weights")
    (adapter / "academy_adapter.json").write_text('{"format_version": 1}')


def write_example_losses(out: pathlib.Path, dataset_path: str) -> None:
    """Like the real trainer: each snapshot line's loss in example_losses.jsonl, then the event."""
    rows = pathlib.Path(dataset_path).read_text().splitlines()
    losses = [{"line": n, "split": json.loads(row).get("split", "train"), "loss": 0.2 + (n % 3) / 10, "tokens": 4}
              for n, row in enumerate(rows, start=1)]
    (out / "example_losses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in losses))
    emit("example_losses", path="example_losses.jsonl", count=len(losses))


def main() -> int:
    spec = json.loads(pathlib.Path(sys.argv[sys.argv.index("--spec") + 1]).read_text())
    out = pathlib.Path(spec["output_dir"])
    mode = os.environ.get("FAKE_TRAINER_MODE", "ok")
    print("FakeTrainer starting", file=sys.stderr, flush=True)
    emit("start", total_steps=4, device="cpu", backend="fake")
    if mode == "crash":
        print("Traceback (most recent call last):\nValueError: fake crash in the data loader", flush=True)
        return 1
    if mode == "stderr_events":  # a library writing protocol-shaped lines to stderr
        print(json.dumps({"event": "metric", "step": 99, "loss": 123.0}), file=sys.stderr, flush=True)
        print(json.dumps({"event": "error", "kind": "oom", "message": "forged"}), file=sys.stderr, flush=True)
        print(json.dumps({"event": "done", "adapter_dir": "elsewhere", "metrics": {"train_loss": 0}}),
              file=sys.stderr, flush=True)
    if mode == "oom":
        emit("error", kind="oom", message="out of memory: lower batch size or max sequence length")
        return 5
    if mode == "hang":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        emit("metric", step=1, loss=2.0, lr=1e-4, ts=time.time())
        while True:
            time.sleep(0.05)
    for step in range(1, 5):
        emit("metric", step=step, epoch=step / 4, loss=2.0 / step, lr=1e-4, tokens_per_s=100.0, ts=time.time())
    emit("eval", step=4, eval_loss=0.7)
    (out / "checkpoints" / "step-4").mkdir(parents=True, exist_ok=True)
    emit("checkpoint", step=4, path="checkpoints/step-4")
    if mode != "noadapter":
        write_adapter(out)
    write_example_losses(out, spec["dataset_path"])
    emit("done", adapter_dir="adapter", metrics={"train_loss": 0.5, "eval_loss": 0.7})
    return 0


if __name__ == "__main__":
    sys.exit(main())
