"""Build the toy base model used by tests, CI and the offline demo.

A Llama-architecture model of about half a million parameters with a byte-level BPE
tokenizer trained on a small corpus shipped in this package. Nothing is downloaded.
The weights are random (seeded): it is a toy that trains in seconds on a CPU, not a
language model anyone should talk to.

No Django import: this module runs inside training containers too.
"""

from __future__ import annotations

import json
import pathlib

TOY_NAME = "tiny-llama-toy"
CORPUS_PATH = pathlib.Path(__file__).with_name("tiny_corpus.txt")

BOS, EOS, UNK, PAD = "<s>", "</s>", "<unk>", "<pad>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]

# A minimal Zephyr-like template: each turn is "<|role|>\n{content}</s>\n".
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

MODEL_SIZE = {
    "vocab_size": 1024,
    "hidden_size": 96,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
}

README = f"""# {TOY_NAME}

A **toy** Llama-architecture model for offline tests and demos of Academy.

- Random (seeded) weights, about half a million parameters; it produces gibberish.
- Byte-level BPE tokenizer trained on a small local corpus (`training/trainer/tiny_corpus.txt`).
- Built by `manage.py make_tiny_base` or `training.trainer.tiny_base.build_tiny_base`.

Use a real base model (a Hugging Face id or a local folder) for anything but tests.
"""


def build_tiny_base(output_dir: pathlib.Path, *, chat_template: bool = True, seed: int = 0) -> pathlib.Path:
    """Write the toy model (config, safetensors weights, tokenizer, README) to output_dir.

    Deterministic for a given seed. Returns output_dir.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer(chat_template=chat_template)
    config = LlamaConfig(
        **{**MODEL_SIZE, "vocab_size": len(tokenizer)},
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(output_dir, safe_serialization=True)
    tokenizer.save_pretrained(output_dir)
    (output_dir / "README.md").write_text(README)
    (output_dir / "academy_toy.json").write_text(
        json.dumps({"name": TOY_NAME, "toy": True, "seed": seed, "chat_template": chat_template}, indent=2) + "\n"
    )
    return output_dir


def _train_tokenizer(*, chat_template: bool):
    """Train a byte-level BPE on the shipped corpus and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=MODEL_SIZE["vocab_size"],
        special_tokens=[UNK, BOS, EOS, PAD, *ROLE_TOKENS],
        # Every byte is in the vocabulary, so any text (code, accents, emoji) tokenizes.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS_PATH.read_text().splitlines(), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        pad_token=PAD,
        additional_special_tokens=ROLE_TOKENS,
        model_max_length=MODEL_SIZE["max_position_embeddings"],
        clean_up_tokenization_spaces=False,
    )
    if chat_template:
        wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def main(argv: list[str] | None = None) -> int:
    """`python -m training.trainer.tiny_base OUTPUT_DIR [--no-chat-template]` for use without Django."""
    import argparse

    parser = argparse.ArgumentParser(description=f"Build the {TOY_NAME} toy base model.")
    parser.add_argument("output_dir", type=pathlib.Path)
    parser.add_argument("--no-chat-template", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    build_tiny_base(args.output_dir, chat_template=not args.no_chat_template, seed=args.seed)
    print(args.output_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
