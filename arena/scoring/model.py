"""The Arena's one module that imports torch, transformers and PEFT.

A ScoringModel holds one base model and any number of LoRA adapters loaded next to it by
name; `None` as the adapter name means the base model alone (adapters disabled). Both
measurements are batched: reference losses with right padding, greedy generation with
left padding (items sorted by length so a batch wastes little padding).
"""

import contextlib

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from training import model_store
from training.trainer.prompts import IGNORE_INDEX, encode_pair


def pick_device(preference: str = "auto") -> str:
    return "cuda" if preference != "cpu" and torch.cuda.is_available() else "cpu"


class ScoringModel:
    def __init__(self, base_model: str, *, device: str = "auto"):
        self.device = pick_device(device)
        dtype = torch.bfloat16 if self.device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        # A stored short name (smollm2-135m-instruct) loads from its folder under the models root.
        source = str(model_store.resolve(base_model) or base_model)
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else self.tokenizer.eos_token_id
        self.model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype).to(self.device)
        self.model.eval()
        self.adapters: set[str] = set()

    def add_adapter(self, name: str, path: str) -> None:
        if name in self.adapters:
            return
        if not isinstance(self.model, PeftModel):
            self.model = PeftModel.from_pretrained(self.model, path, adapter_name=name, is_trainable=False)
        else:
            self.model.load_adapter(path, adapter_name=name, is_trainable=False)
        self.model.to(self.device).eval()
        self.adapters.add(name)

    @contextlib.contextmanager
    def _using(self, adapter: str | None):
        with torch.inference_mode():
            if adapter is None:
                if isinstance(self.model, PeftModel):
                    with self.model.disable_adapter():
                        yield self.model
                else:
                    yield self.model
            else:
                self.model.set_adapter(adapter)
                yield self.model

    def encode(self, prompt: str, response: str, *, add_bos: bool, max_length: int) -> tuple[list[int], list[int]]:
        """(prompt ids, response ids) tokenized and cut as the trainer does."""
        return encode_pair(self.tokenizer, prompt, response, add_bos=add_bos, max_length=max_length)

    def ids(self, text: str, *, add_bos: bool) -> list[int]:
        return encode_pair(self.tokenizer, text, add_bos=add_bos)[0]

    def losses(self, adapter: str | None, pairs: list[tuple[list[int], list[int]]], *,
               batch_size: int = 8, on_batch=None) -> list[float]:
        """Mean per-token loss of each response given its prompt; on_batch(done, total) after each batch."""
        results: list[float] = [float("nan")] * len(pairs)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        with self._using(adapter) as model:
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                for index, value in zip(batch, self._batch_losses(model, [pairs[i] for i in batch]), strict=True):
                    results[index] = value
                if on_batch:
                    on_batch(start + len(batch), len(order))
        return results

    def _batch_losses(self, model, pairs) -> list[float]:
        width = max(len(p) + len(r) for p, r in pairs)
        ids = torch.full((len(pairs), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(pairs), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(pairs), width), dtype=torch.long)
        for row, (head, tail) in enumerate(pairs):
            n = len(head) + len(tail)
            ids[row, :n] = torch.tensor(head + tail)
            labels[row, len(head):n] = torch.tensor(tail)
            mask[row, :n] = 1
        logits = model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits.float()
        shift_logits, shift_labels = logits[:, :-1], labels[:, 1:].to(self.device)
        per_token = torch.nn.functional.cross_entropy(
            shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
            ignore_index=IGNORE_INDEX, reduction="none").view(shift_labels.shape)
        counted = (shift_labels != IGNORE_INDEX).sum(dim=1).clamp(min=1)
        return (per_token.sum(dim=1) / counted).tolist()

    def generate(self, adapter: str | None, prompts: list[list[int]], *, max_new_tokens: int,
                 stop: list[str], batch_size: int = 8, on_batch=None) -> list[str]:
        """Greedy continuations of each prompt (token ids), cut at the first stop string."""
        results = [""] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        with self._using(adapter) as model:
            for start in range(0, len(order), batch_size):
                batch = order[start:start + batch_size]
                for index, text in zip(batch, self._batch_generate(model, [prompts[i] for i in batch],
                                                                   max_new_tokens, stop), strict=True):
                    results[index] = _cut(text, stop)
                if on_batch:
                    on_batch(start + len(batch), len(order))
        return results

    def stop_token_ids(self, stop: list[str]) -> list[int]:
        """EOS and every stop marker that is one special token (ChatML's <|im_end|>): decoding skips
        special tokens, so such a marker ends generation as a token or not at all."""
        added = self.tokenizer.get_added_vocab()
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids = list(configured) if isinstance(configured, list | tuple) else [configured]
        ids += [self.tokenizer.eos_token_id, *(added.get(marker) for marker in stop)]
        return sorted({i for i in ids if isinstance(i, int)})

    def _batch_generate(self, model, prompts, max_new_tokens, stop=()) -> list[str]:
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):  # left padding: every prompt ends where generation starts
            ids[row, width - len(prompt):] = torch.tensor(prompt)
            mask[row, width - len(prompt):] = 1
        output = model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=self.pad_id,
                                eos_token_id=self.stop_token_ids(list(stop)) or None)
        return [self.tokenizer.decode(row[width:], skip_special_tokens=True) for row in output]


def _cut(text: str, stop: list[str]) -> str:
    for marker in stop:
        if marker and marker in text:
            text = text[:text.index(marker)]
    return text
