"""The one Django-side module that imports torch, transformers and PEFT.

An Engine holds one base model for the life of the process and any number of LoRA
adapters loaded next to each other under distinct names. PEFT's active adapter is
model-wide state, so generation and adapter loading/unloading share one lock; each
generation names the adapter it runs with, which is how a request that started before a
swap finishes on its own adapter.
"""

import threading
from dataclasses import dataclass

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str


class Engine:
    def __init__(self, base_model: str):
        self.base_model = base_model
        self.tokenizer = AutoTokenizer.from_pretrained(base_model)
        self._base = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
        self._base.eval()
        self.model = None  # the PeftModel, created with the first adapter
        self.lock = threading.Lock()
        self.adapters: set[str] = set()

    def load_adapter(self, name: str, path: str) -> None:
        """Load an adapter next to the others (no-op if already loaded); the base stays in memory."""
        with self.lock:
            if name in self.adapters:
                return
            if self.model is None:
                self.model = PeftModel.from_pretrained(self._base, path, adapter_name=name, is_trainable=False)
            else:
                self.model.load_adapter(path, adapter_name=name, is_trainable=False)
            self.model.eval()
            self.adapters.add(name)

    def unload_adapter(self, name: str, keep=lambda: False) -> None:
        """Drop an adapter unless keep() says it is in use again (checked under the lock)."""
        with self.lock:
            if name not in self.adapters or len(self.adapters) == 1 or keep():
                return  # PEFT needs one adapter left; the last one is replaced, never dropped
            if self.model.active_adapter == name:
                self.model.set_adapter(next(a for a in self.adapters if a != name))
            self.model.delete_adapter(name)
            self.adapters.discard(name)

    def generate(self, adapter: str, prompt: str, *, max_tokens: int, stop: list[str],
                 add_bos: bool) -> Completion:
        """Greedy (deterministic) decoding of at most max_tokens new tokens with `adapter`.

        Tokenized as in training: no special tokens added, BOS prepended when the adapter's
        prompt block says the tokenizer adds one.
        """
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        bos = self.tokenizer.bos_token_id
        if add_bos and bos is not None and ids[:1] != [bos]:
            ids = [bos, *ids]
        input_ids = torch.tensor([ids])
        encoded = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
        with self.lock, torch.inference_mode():
            self.model.set_adapter(adapter)
            output = self.model.generate(
                **encoded, max_new_tokens=max_tokens, do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        new_tokens = output[0, encoded["input_ids"].shape[1]:]
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True)
        finish = "length" if len(new_tokens) >= max_tokens else "stop"
        for marker in stop:
            if marker and marker in text:
                text, finish = text[:text.index(marker)], "stop"
        return Completion(text, int(encoded["input_ids"].shape[1]), len(new_tokens), finish)
