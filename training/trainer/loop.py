"""The training loop: token-weighted loss on response tokens, periodic eval, checkpoints,
best-checkpoint selection, early stopping and resume."""

from __future__ import annotations

import math
import time

from training.trainer import checkpoints, stopping
from training.trainer.batching import collate, epoch_batches, pack
from training.trainer.checkpoints import LoopState
from training.trainer.errors import SpecError
from training.trainer.prompts import IGNORE_INDEX, Encoded
from training.trainer.protocol import emit, log, now
from training.trainer.spec import Spec

MAX_GRAD_NORM = 1.0


class Trainer:
    """Runs the optimisation for one spec on an already loaded (PEFT) model."""

    def __init__(self, spec: Spec, loaded, train_rows: list[Encoded], eval_rows: list[Encoded], dataset_sha256: str):
        import torch

        self.spec, self.hp, self.loaded = spec, spec.hyperparameters, loaded
        self.model, self.device = loaded.model, loaded.device
        self.pad_id = loaded.tokenizer.pad_token_id
        self.dataset_sha256 = dataset_sha256
        if self.hp.packing:
            packed = pack(train_rows, self.hp.max_seq_length, self.hp.seed)
            self.units, self.positions = [row for row, _ in packed], [pos for _, pos in packed]
        else:
            self.units, self.positions = train_rows, None
        self.eval_rows = sorted(eval_rows, key=len)
        batches = math.ceil(len(self.units) / self.hp.batch_size)
        self.steps_per_epoch = math.ceil(batches / self.hp.gradient_accumulation)
        self.total_steps = self.steps_per_epoch * self.hp.num_epochs
        if self.hp.max_steps:
            self.total_steps = min(self.total_steps, self.hp.max_steps)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=self.hp.learning_rate, weight_decay=self.hp.weight_decay)
        warmup = int(self.total_steps * self.hp.warmup_ratio)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, _linear_schedule(warmup, self.total_steps))
        self.scaler = torch.amp.GradScaler("cuda") if loaded.dtype == "float16" and self.device == "cuda" else None
        self.state = LoopState(dataset_sha256=dataset_sha256)
        self._epoch_cache: tuple[int, list[list[int]]] | None = None
        self.tokens_seen, self.train_seconds = 0, 0.0

    def resume(self) -> int | None:
        """Continue from the newest checkpoint in output_dir; returns its step or None."""
        path = checkpoints.latest(self.spec.output_dir)
        if path is None:
            return None
        saved = checkpoints.read_state(path)
        if saved.dataset_sha256 and saved.dataset_sha256 != self.dataset_sha256:
            raise SpecError(
                f"output_dir {self.spec.output_dir} holds checkpoints of another dataset "
                f"({saved.dataset_sha256}); use a fresh output_dir"
            )
        self.state = checkpoints.restore(path, self.model, self.optimizer, self.scheduler)
        log(f"resumed from {path} at step {self.state.step}")
        return self.state.step

    def run(self) -> LoopState:
        """Train until total_steps or early stopping; returns the final loop state.

        On SIGTERM (training.trainer.stopping) it stops after the step in progress, with a
        checkpoint of that step, by raising stopping.Stopped.
        """
        with stopping.at_step_boundaries():
            return self._run()

    def _run(self) -> LoopState:
        self.model.train()
        window = _Window()
        if stopping.requested():
            raise stopping.Stopped(self.state.step or None)
        while self.state.step < self.total_steps and not self.state.stopped_early:
            lr, started = self.scheduler.get_last_lr()[0], time.perf_counter()
            window.add(*self._optimizer_step(self.state.step), seconds=time.perf_counter() - started)
            self.state.step += 1
            step, last = self.state.step, self.state.step >= self.total_steps
            # Step 1 is always reported so a live chart shows a point as soon as training runs.
            if step % self.hp.logging_every_steps == 0 or last or step == 1:
                self._report(window, lr)
            if self.eval_rows and (step % self.hp.eval_every_steps == 0 or last):
                self._evaluate()
            if step % self.hp.checkpoint_every == 0 or last or self.state.stopped_early or stopping.requested():
                path = checkpoints.save(self.spec.output_dir, self.model, self.optimizer, self.scheduler, self.state)
                emit("checkpoint", step=step, path=str(path.relative_to(self.spec.output_dir)))
            if stopping.requested():
                raise stopping.Stopped(step)
        return self.state

    def _report(self, window: _Window, lr: float) -> None:
        elapsed = window.seconds
        self.state.train_loss = window.loss_sum / max(window.count, 1)
        self.tokens_seen += window.tokens
        self.train_seconds += elapsed
        step = self.state.step
        emit("metric", step=step, epoch=round(step / self.steps_per_epoch, 4), loss=self.state.train_loss,
             lr=lr, tokens_per_s=round(window.tokens / max(elapsed, 1e-9), 1), ts=now())
        window.reset()

    def restore_best(self) -> None:
        """Load the weights of the best checkpoint by eval loss, when it is not the current one."""
        best = self.state.best_step
        if best is None or best == self.state.step:
            return
        path = checkpoints.checkpoint_dir(self.spec.output_dir, best)
        if (path / checkpoints.STATE_FILE).exists():
            checkpoints.load_adapter_weights(path, self.model)
            last = self.state.last_eval_loss
            log(f"keeping the adapter from step {best}, where the eval loss was lowest "
                f"({self.state.best_eval_loss:.4f}), not the last step {self.state.step}"
                + (f" ({last:.4f})" if last is not None else ""))

    def _optimizer_step(self, step: int) -> tuple[float, int, int]:
        import torch

        micro = self._micro_batches(step)
        batches = [self._batch(ids) for ids in micro]
        count = sum(int((b["labels"][:, 1:] != IGNORE_INDEX).sum()) for b in batches)
        loss_sum, tokens = 0.0, 0
        for batch in batches:
            tokens += int(batch["attention_mask"].sum())
            loss = self._loss_sum(batch) / max(count, 1)
            (self.scaler.scale(loss) if self.scaler else loss).backward()
            loss_sum += float(loss.detach()) * max(count, 1)
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], MAX_GRAD_NORM)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_sum, count, tokens

    def _evaluate(self) -> None:
        import torch

        self.model.eval()
        total = count = 0.0
        with torch.no_grad():
            for start in range(0, len(self.eval_rows), self.hp.batch_size):
                batch = collate(self.eval_rows[start : start + self.hp.batch_size], self.pad_id)
                total += float(self._loss_sum(self._to_device(batch)))
                count += int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        self.model.train()
        eval_loss = total / max(count, 1)
        state = self.state
        state.last_eval_loss = eval_loss
        if state.best_eval_loss is None or eval_loss < state.best_eval_loss:
            state.best_eval_loss, state.best_step, state.bad_evals = eval_loss, state.step, 0
        else:
            state.bad_evals += 1
            patience = self.hp.early_stopping_patience
            # At the last planned step nothing is left to stop: that is the plan's end, not early stopping.
            if patience and state.bad_evals >= patience and state.step < self.total_steps:
                state.stopped_early = True
                log(f"stopping early at step {state.step} of {self.total_steps}: no eval improvement in "
                    f"{patience} evaluations")
        emit("eval", step=state.step, eval_loss=eval_loss)

    def _loss_sum(self, batch: dict):
        import torch.nn.functional as F

        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = self.model(**inputs).logits[:, :-1, :]
        labels = batch["labels"][:, 1:]
        return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1),
                               ignore_index=IGNORE_INDEX, reduction="sum")

    def _micro_batches(self, step: int) -> list[list[int]]:
        epoch, within = divmod(step, self.steps_per_epoch)
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            self._epoch_cache = (epoch, epoch_batches(self.units, self.hp.batch_size, self.hp.seed, epoch))
        ga = self.hp.gradient_accumulation
        return self._epoch_cache[1][within * ga : (within + 1) * ga]

    def _batch(self, indices: list[int]) -> dict:
        rows = [self.units[i] for i in indices]
        positions = [self.positions[i] for i in indices] if self.positions else None
        return self._to_device(collate(rows, self.pad_id, positions))

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device) for k, v in batch.items()}


class _Window:
    """Loss, tokens and optimiser time since the last metric line (eval/checkpoint time excluded)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.loss_sum, self.count, self.tokens, self.seconds = 0.0, 0, 0, 0.0

    def add(self, loss_sum: float, count: int, tokens: int, seconds: float) -> None:
        self.loss_sum += loss_sum
        self.count += count
        self.tokens += tokens
        self.seconds += seconds


def _linear_schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor
