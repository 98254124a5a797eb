"""The one Django-side module that imports torch, transformers and PEFT.

An Engine holds one base model for the life of the process and any number of LoRA
adapters loaded next to each other under distinct names. PEFT's active adapter is
model-wide state, so generation and adapter loading/unloading share one lock; each
generation names the adapter it runs with, which is how a request that started before a
swap finishes on its own adapter.
"""

import functools
import threading
import time
from dataclasses import dataclass

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from models_registry.serving.stops import StopScanner
from training.trainer.prompts import encode_pair


@dataclass
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    timed_out: bool = False  # ended by max_seconds


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

    @property
    def context_length(self) -> int:
        """Positions the base model can attend to (prompt and completion together)."""
        config = self._base.config
        return int(getattr(config, "max_position_embeddings", None) or self.tokenizer.model_max_length)

    @functools.cached_property
    def max_token_chars(self) -> int:
        """The most characters one token can stand for (its vocabulary string is at least as long)."""
        vocabulary = self.tokenizer.get_vocab()
        return max((len(piece) for piece in vocabulary), default=1) or 1

    def stop_token_ids(self, stop) -> list[int]:
        """Token ids that end generation: the model's own EOS and every stop marker that is one token.

        The streamer decodes without special tokens, so a marker like ChatML's <|im_end|> never
        reaches the text scanner: it must stop generation as a token instead.
        """
        configured = getattr(getattr(self._base, "generation_config", None), "eos_token_id", None)
        ids = list(configured) if isinstance(configured, list | tuple) else [configured]
        ids.append(self.tokenizer.eos_token_id)
        ids.extend(self._single_tokens.get(marker) for marker in stop)
        return sorted({i for i in ids if isinstance(i, int)})

    @functools.cached_property
    def _single_tokens(self) -> dict[str, int]:
        # Special and added tokens (<|im_end|>, </s>...): the markers a chat template ends a turn with.
        return {str(token): index for token, index in self.tokenizer.get_added_vocab().items()}

    def encode(self, prompt: str, *, add_bos: bool) -> list[int]:
        """Tokenize as in training: no special tokens added, BOS prepended when the prompt block says so."""
        return encode_pair(self.tokenizer, prompt, add_bos=add_bos)[0]

    def generate(self, adapter: str, prompt: str, *, max_tokens: int, stop: list[str],
                 add_bos: bool) -> Completion:
        """Greedy (deterministic) decoding of at most max_tokens new tokens with `adapter`."""
        return self.stream(adapter, self.encode(prompt, add_bos=add_bos), max_tokens=max_tokens, stop=stop)

    def stream(self, adapter: str, ids: list[int], *, max_tokens: int, stop: list[str],
               temperature: float | None = None, top_p: float = 1.0, seed: int | None = None,
               max_seconds: float | None = None, cancel: threading.Event | None = None,
               on_text=None) -> Completion:
        """Generate with `adapter`, calling on_text(piece) as text becomes final.

        Greedy unless temperature > 0 (then sampled with top_p, reproducibly when seeded).
        Ends at max_tokens, a stop marker, max_seconds (finish_reason "length") or when
        `cancel` is set (a client that went away).
        """
        scanner = StopScanner(stop)
        pieces = _Pieces(self.tokenizer, scanner, on_text or (lambda piece: None))
        cancel = cancel or threading.Event()
        input_ids = torch.tensor([ids])
        options = {"do_sample": False}
        if temperature:
            options = {"do_sample": True, "temperature": temperature, "top_p": top_p, "top_k": 0}
        started = time.monotonic()
        with self.lock, torch.inference_mode():
            self.model.set_adapter(adapter)
            if seed is not None:
                torch.manual_seed(seed)
            self.model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=max_tokens,
                max_time=max_seconds, streamer=pieces,
                stopping_criteria=StoppingCriteriaList([_Until(lambda: cancel.is_set() or scanner.stopped)]),
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                eos_token_id=self.stop_token_ids(stop) or None, **options)
        timed_out = max_seconds is not None and time.monotonic() - started >= max_seconds
        finish = "stop" if scanner.stopped else (
            "length" if pieces.count >= max_tokens or timed_out else "stop")
        return Completion(pieces.text, len(ids), pieces.count, finish, timed_out and not scanner.stopped)


class _Until(StoppingCriteria):
    def __init__(self, predicate):
        self.predicate = predicate

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), self.predicate(), dtype=torch.bool, device=input_ids.device)


class _Pieces(BaseStreamer):
    """Receives new token ids from generate(); hands on text once it cannot change any more."""

    def __init__(self, tokenizer, scanner: StopScanner, on_text):
        self.tokenizer, self.scanner, self.on_text = tokenizer, scanner, on_text
        self.ids: list[int] = []
        self.decoded = ""  # text of self.ids already passed to the scanner
        self.text = ""  # text handed on
        self._prompt_seen = False

    @property
    def count(self) -> int:
        return len(self.ids)

    def put(self, value):
        if not self._prompt_seen:  # generate() first hands over the prompt
            self._prompt_seen = True
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return  # an incomplete UTF-8 sequence: wait for the next token
        self._hand_on(text)

    def end(self):
        self._hand_on(self.tokenizer.decode(self.ids, skip_special_tokens=True))
        self._emit(self.scanner.flush())

    def _hand_on(self, text: str):
        if text.startswith(self.decoded):
            piece, self.decoded = text[len(self.decoded):], text
            self._emit(self.scanner.push(piece))

    def _emit(self, piece: str):
        if piece:
            self.text += piece
            self.on_text(piece)
