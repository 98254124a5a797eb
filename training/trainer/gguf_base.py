"""Turn a GGUF model file into a base-model folder that training, serving and the Arena load.

transformers reads GGUF (with the `gguf` package) and dequantizes it to float32; the folder
written here holds that model as safetensors with its config, tokenizer and chat template,
so every later load is a plain `from_pretrained(folder)` with no GGUF parsing. The GGUF file
itself is kept beside them (`ORIGINAL_GGUF`): the agent's runtime (llama.cpp, Ollama) runs it.

No Django import: the models root's store (training.model_store) calls this, and so can a
script on a host without the web app.
"""

from __future__ import annotations

import pathlib
import shutil

ORIGINAL_GGUF = "original.gguf"


class GGUFImportError(ValueError):
    """The file is not a GGUF model transformers can read, or writing the folder failed."""


def convert(gguf_path: pathlib.Path, output: pathlib.Path) -> dict:
    """Write the HF folder for gguf_path into output (which must not exist); returns its config."""
    gguf_path = pathlib.Path(gguf_path)
    if not gguf_path.is_file():
        raise GGUFImportError(f"no GGUF file at {gguf_path}")
    with open(gguf_path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFImportError(f"{gguf_path.name} is not a GGUF file (its first bytes are not 'GGUF')")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds for an unreadable file
        raise GGUFImportError(f"transformers cannot load {name}: {exc.__class__.__name__}: {exc}") from exc
    # The weights are already float32 tensors; the quantization note would make save_pretrained refuse.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if hasattr(model, "hf_quantizer"):
        model.hf_quantizer = None
    if hasattr(model, "is_quantized"):
        model.is_quantized = False
    output.mkdir(parents=True)
    model.save_pretrained(str(output), safe_serialization=True)
    tokenizer.save_pretrained(str(output))
    shutil.copyfile(gguf_path, output / ORIGINAL_GGUF)
    return model.config.to_dict()
