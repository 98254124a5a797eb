"""FakeTrainer: speaks the trainer protocol over time without loading a model.

The live page's browser tests point the local backend at it (TRAINING_TRAINER_MODULE), so a
run started from the UI streams points at a known pace: 20 steps per epoch, an eval every
10 steps, one log line every 5 steps, a checkpoint half-way, then a minimal adapter folder
and "done". Run as `python -m tests.training.fake_live_trainer --spec spec.json`.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

STEPS_PER_EPOCH = 20


class FakeTrainer:
    def __init__(self, spec: dict):
        self.spec = spec
        self.output = Path(spec["output_dir"])
        epochs = int(spec.get("hyperparameters", {}).get("num_epochs", 1))
        self.total_steps = int(os.environ.get("FAKE_TRAINER_STEPS", "0")) or STEPS_PER_EPOCH * epochs
        self.interval = float(os.environ.get("FAKE_TRAINER_STEP_SECONDS", "0.1"))

    def emit(self, event: str, **fields) -> None:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()

    def run(self) -> None:
        time.sleep(float(os.environ.get("FAKE_TRAINER_START_SECONDS", "0")))  # lets watchers connect first
        self.emit("start", total_steps=self.total_steps, device="cpu", backend="fake")
        for step in range(1, self.total_steps + 1):
            time.sleep(self.interval)
            loss = 2.0 / (1 + 0.1 * step)
            self.emit("metric", step=step, epoch=round(step / STEPS_PER_EPOCH, 4), loss=loss,
                      lr=0.0002 * (1 - step / (self.total_steps + 1)), ts=round(time.time(), 3))
            if step % 5 == 0:
                print(f"[fake] step {step} of {self.total_steps}", file=sys.stderr, flush=True)
            if step % 10 == 0:
                self.emit("eval", step=step, epoch=round(step / STEPS_PER_EPOCH, 4), eval_loss=loss * 1.1)
            if step == self.total_steps // 2:
                (self.output / "checkpoints" / f"step-{step}").mkdir(parents=True, exist_ok=True)
                self.emit("checkpoint", step=step, path=f"checkpoints/step-{step}")
        self._write_adapter()
        self.emit("done", adapter_dir="adapter", metrics={
            "train_loss": loss, "eval_loss": loss * 1.1, "last_eval_loss": loss * 1.1, "steps": self.total_steps,
            "best_step": self.total_steps, "stopped_early": False})

    def _write_adapter(self) -> None:
        adapter = self.output / "adapter"
        adapter.mkdir(parents=True, exist_ok=True)
        (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
        (adapter / "adapter_model.safetensors").write_bytes(b"fake weights")
        (adapter / "academy_adapter.json").write_text(json.dumps({
            "format_version": 1, "base_model": self.spec.get("base_model"),
            "dataset_sha256": self.spec.get("dataset_sha256"), "hyperparameters": self.spec.get("hyperparameters"),
            "metrics": {}, "prompt": {"style": "alpaca", "template": "{instruction}\n{input}\n{output}",
                                      "eos_token": "</s>", "stop": ["</s>"]},
            "trainer": {"backend": "fake", "versions": {}}}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    args = parser.parse_args()
    FakeTrainer(json.loads(Path(args.spec).read_text())).run()


if __name__ == "__main__":
    main()
