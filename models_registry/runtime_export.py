"""A version as the agent's runtime loads it: base GGUF + GGUF LoRA + Modelfile + README.

For a base model stored from a GGUF file (training.model_store keeps it as `original.gguf`
beside the float32 snapshot training, serving and the Arena load), `export_runtime` writes

    base.gguf             the original GGUF as stored, or with base_precision f32/f16 the same
                          model dequantized (the weights the snapshot holds, so what was judged)
    adapter.gguf          the version's PEFT adapter converted to a GGUF LoRA (gguf_lora)
    Modelfile             FROM ./base.gguf, ADAPTER ./adapter.gguf, the TEMPLATE proven with Go
    README.md             how to load them in Ollama, llama.cpp and llama-cpp-python
    academy_runtime.json  what was exported: line, version, base, precision, sha256 of each file

The folder is written under a hidden name beside the target and renamed into place, so a
crash never leaves a half export that looks complete. Promotion with OLLAMA_HOST builds the
Ollama model from the same files (create_ollama_model, through models_registry.ollama).
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from artifacts.hashing import file_sha256
from artifacts.staging import staged_folder
from models_registry import adapters, gguf_lora, ollama
from training import model_store
from training.trainer.gguf_base import ORIGINAL_GGUF

BASE_FILE = "base.gguf"
ADAPTER_FILE = "adapter.gguf"
MODELFILE = "Modelfile"
README = "README.md"
MANIFEST = "academy_runtime.json"
ORIGINAL = "original"
PRECISIONS = (ORIGINAL, *gguf_lora.PRECISIONS)
# The base a promotion sends Ollama for a GGUF base model: F16 holds the weights serving and the
# Arena computed with (the snapshot is the GGUF dequantized to float32; F16 rounds them once); the
# original quantized file agrees less often (docs/agent-runtime.md).
PROMOTION_BASE_PRECISION = "f16"


class RuntimeExportError(RuntimeError):
    """The version cannot be exported for llama.cpp/Ollama; the message says why and what to do."""


def base_gguf(version) -> Path:
    """The stored GGUF of the version's base model, checked against the base's manifest.

    The base comes through the artifact layer (adapters.base_model_folder): fetched and
    sha256-checked where this host lacks it.
    """
    try:
        folder = adapters.base_model_folder(version)
    except adapters.AdapterError as exc:
        raise RuntimeExportError(f"cannot export {version}: {exc}") from exc
    if folder is None:
        raise RuntimeExportError(f"base model {version.base_model} is not stored here; store it first: "
                                 f"python manage.py fetch_base_model {version.base_model}")
    gguf = folder / ORIGINAL_GGUF
    if not gguf.is_file():
        raise RuntimeExportError(
            f"base model {model_store.display_name(version.base_model)} has no GGUF file (only GGUF bases "
            f"have one for llama.cpp and Ollama); export a merged model instead: "
            f"python manage.py export_merged {version.line.name} {version.label}")
    recorded = ((model_store.manifest(str(folder)) or {}).get("files") or {}).get(ORIGINAL_GGUF)
    if recorded and file_sha256(gguf) != recorded:
        raise RuntimeExportError(f"the GGUF of base model {version.base_model} no longer matches its manifest; "
                                 f"store the base again: python manage.py fetch_base_model {version.base_model}")
    return gguf


def has_gguf_base(version) -> bool:
    """Whether the version's base (through the artifact layer, fetched where missing) has its GGUF."""
    folder = adapters.base_model_folder(version)
    return folder is not None and (folder / ORIGINAL_GGUF).is_file()


def create_ollama_model(version) -> None:
    """Create `<line>:<label>` in Ollama from the runtime export's files (the base GGUF and the adapter as a
    GGUF LoRA, the same bytes `manage.py export_runtime` writes), so Ollama runs the base that was judged,
    not a model of a similar name; OllamaRefused when they cannot be written."""
    template = ollama.template_for(version)
    exports = Path(settings.DATA_DIR) / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".ollama-", dir=exports))
    try:
        try:
            write_files(version, base_gguf(version), folder, base_precision=PROMOTION_BASE_PRECISION)
        except RuntimeExportError as exc:
            raise ollama.OllamaRefused(str(exc)) from exc
        files = {BASE_FILE: ollama.upload_file(folder / BASE_FILE)}
        adapter = {ADAPTER_FILE: ollama.upload_file(folder / ADAPTER_FILE)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ollama.create(ollama.create_request(version, template, adapter, files=files))


def export_runtime(version, target: Path, *, base_precision: str = ORIGINAL, force: bool = False) -> dict:
    """Write the runtime files of `version` into target; returns the manifest written there."""
    if base_precision not in PRECISIONS:
        raise RuntimeExportError(f"base precision {base_precision!r} is not one of {', '.join(PRECISIONS)}")
    target = Path(target).expanduser().absolute()
    _check_target(target, force=force)
    source = base_gguf(version)
    try:
        adapters.local_folder(version)  # fetched (sha256-checked) where this host lacks it
    except adapters.AdapterError as exc:
        raise RuntimeExportError(f"cannot export {version}: {exc}") from exc
    with staged_folder(target) as staging:
        staging.mkdir()
        manifest = write_files(version, source, staging, base_precision=base_precision)
    return manifest


def write_files(version, source: Path, folder: Path, *, base_precision: str = ORIGINAL) -> dict:
    """Write the export's files into an existing empty folder (no checks of the target)."""
    try:
        shutil.copyfile(base_file(source, base_precision), folder / BASE_FILE)
        lora = gguf_lora.write_lora_adapter(adapters.local_folder(version), folder / ADAPTER_FILE,
                                            base_gguf=source)
    except gguf_lora.GGUFExportError as exc:
        raise RuntimeExportError(f"cannot export {version} for llama.cpp: {exc}") from exc
    refusal = ollama.template_refusal(version)
    if refusal is None:
        (folder / MODELFILE).write_text(ollama.runtime_modelfile(version, f"./{BASE_FILE}", f"./{ADAPTER_FILE}"))
    (folder / README).write_text(_readme(version, base_precision, refusal))
    files = {name: file_sha256(folder / name) for name in sorted(p.name for p in folder.iterdir())}
    manifest = {
        "line": version.line.name, "version": version.label, "base_model": version.base_model,
        "base_digest": (model_store.manifest(version.base_model) or {}).get("digest", ""),
        "base_precision": base_precision, "original_gguf_sha256": file_sha256(source),
        "lora": lora, "adapter_files": version.adapter_files, "prompt": version.prompt, "files": files,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def base_file(source: Path, precision: str) -> Path:
    """The base GGUF at `precision`: the stored file, or its dequantized copy (made once per base and precision).

    The copies live in <DATA_DIR>/exports/bases/, keyed by the stored GGUF's sha256, so a
    promotion does not convert the base again.
    """
    if precision == ORIGINAL:
        return source
    cached = Path(settings.DATA_DIR) / "exports" / "bases" / f"{file_sha256(source)[:32]}-{precision}.gguf"
    if cached.is_file():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{cached.name}.", dir=cached.parent)
    os.close(handle)
    try:
        gguf_lora.write_full_precision_base(source, Path(partial), precision)
        os.replace(partial, cached)
    finally:
        Path(partial).unlink(missing_ok=True)
    return cached


def _check_target(target: Path, *, force: bool) -> None:
    if target.exists() and not target.is_dir():
        raise RuntimeExportError(f"{target} exists and is not a folder")
    if target.is_symlink():
        raise RuntimeExportError(f"{target} is a symbolic link; name the real folder")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise RuntimeExportError(f"{target} is not empty; choose an empty folder, or pass --force to replace "
                                     "its contents with the export")
        # --force replaces the folder whole: never a folder that holds the data root or a home
        protected = [Path(settings.DATA_DIR).resolve(), Path.home().resolve()]
        if any(target.resolve() == p or target.resolve() in p.parents for p in protected):
            raise RuntimeExportError(f"{target} holds the data root or a home folder; --force will not replace it")


def _readme(version, precision: str, refusal: str | None) -> str:
    name = version.ollama_name
    base_line = ("the base model's GGUF as stored (the file the float32 snapshot was converted from)"
                 if precision == ORIGINAL else
                 f"the base model dequantized to {precision.upper()} (the weights training, serving and the "
                 "Arena computed with)")
    ollama_part = (
        f"    ollama create {name} -f Modelfile\n    ollama run {name}\n\n"
        "The Modelfile's TEMPLATE renders the prompt the adapter was trained on, byte for byte, and its\n"
        "stop parameters end a turn where training ended it. For answers to compare with Academy's\n"
        "`/v1` (greedy), send `\"options\": {\"temperature\": 0, \"top_k\": 1}`.\n"
        if refusal is None else
        f"No Modelfile: {refusal}\n")
    return f"""# {name}: runtime files

Exported from Academy: line `{version.line.name}`, version `{version.label}`, base model
`{model_store.display_name(version.base_model)}`.

| File | What |
|---|---|
| `{BASE_FILE}` | {base_line} |
| `{ADAPTER_FILE}` | the version's LoRA adapter as a GGUF LoRA (llama.cpp's layout) |
| `{MODELFILE}` | Ollama: `FROM ./{BASE_FILE}`, `ADAPTER ./{ADAPTER_FILE}`, the chat TEMPLATE, stop parameters |
| `{MANIFEST}` | what was exported, with the sha256 of every file |

## Ollama

Run in this folder:

{ollama_part}
## llama.cpp

    llama-cli -m {BASE_FILE} --lora {ADAPTER_FILE} --temp 0 --top-k 1 -n 256

`llama-server -m {BASE_FILE} --lora {ADAPTER_FILE}` serves the same on an OpenAI-compatible endpoint.
llama.cpp renders chats with the chat template inside `{BASE_FILE}` (the base model's own); the
adapter was trained with the template recorded in `{MANIFEST}` (`prompt`), which the Modelfile's
TEMPLATE repeats.

## llama-cpp-python

```python
from llama_cpp import Llama

llm = Llama(model_path="{BASE_FILE}", lora_path="{ADAPTER_FILE}", n_ctx=2048, seed=0)
answer = llm.create_chat_completion(
    messages=[{{"role": "user", "content": "Write a Python function that reverses a list."}}],
    temperature=0, top_k=1, max_tokens=256)
print(answer["choices"][0]["message"]["content"])
```
"""
