"""The one module that talks to Ollama (HTTP API, stdlib urllib) and writes Modelfiles.

The create payload follows Ollama's own source: server/create.go links every file named in
"adapters" ({file name: "sha256:<hex>"}, each uploaded first with POST /api/blobs/<digest>)
into one folder and hands it to convert.ConvertAdapter, which reads adapter_config.json
(lora_alpha as a whole number) and the *.safetensors tensors, and converts only adapters of
a base whose GGUF architecture is "llama" or "gemma2". "template" must parse as Go
text/template. Everything Ollama would refuse is refused here first (OllamaRefused), with
the reason and the way out, before any request is made.

A base model stored from a GGUF file goes the other way create.go offers: "files"
({"base.gguf": digest}) makes the model from that GGUF and "adapters" ({"adapter.gguf":
digest}) takes a GGUF LoRA as it is (general.type "adapter"), both written by
models_registry.runtime_export, so Ollama runs the base that was judged
(runtime_export.create_ollama_model sends them through upload_file and create).

Endpoints: HEAD/POST /api/blobs/sha256:<digest>, POST /api/create {"model", "from" or "files",
"adapters", "template", "parameters", "stream": false}, POST /api/copy {"source", "destination"}.
"""

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from artifacts.hashing import file_sha256
from models_registry import adapters
from models_registry.ollama_template import OllamaTemplateError, ollama_template
from training import model_store
from training.trainer.prompts import stop_sequences
from training.trainer.run import ADAPTER_CONFIG, ADAPTER_WEIGHTS

# What Ollama's converter reads of an adapter folder.
PEFT_FILES = (ADAPTER_CONFIG, ADAPTER_WEIGHTS)
# convert.ConvertAdapter: GGUF architecture of the FROM model -> Hugging Face architectures
# that convert to it (llama.cpp converts Mistral checkpoints to the llama architecture).
ADAPTER_ARCHITECTURES = {
    "llama": ("LlamaForCausalLM", "MistralForCausalLM"),
    "gemma2": ("Gemma2ForCausalLM",),
}


class OllamaError(RuntimeError):
    """Ollama refused or could not be reached; the message says which call and why."""


class OllamaRefused(OllamaError):
    """Ollama cannot take this version as it is; refused before any request, with the way out."""


def is_enabled() -> bool:
    return bool(settings.OLLAMA_HOST)


def base_name(version) -> str:
    return version.line.ollama_base or version.base_model


def supported_architectures() -> list[str]:
    return sorted(a for names in ADAPTER_ARCHITECTURES.values() for a in names)


def template_for(version) -> str:
    """The version's Go TEMPLATE; OllamaRefused when no template renders its training prompt."""
    try:
        return ollama_template(version.prompt)
    except OllamaTemplateError as exc:
        raise OllamaRefused(f"cannot export {version} to Ollama: {exc}. The built-in endpoint serves it "
                            "with the exact prompt.") from exc


def template_refusal(version) -> str | None:
    """Why no Ollama TEMPLATE renders this version's training prompt, or None."""
    try:
        template_for(version)
    except OllamaRefused as exc:
        return str(exc)
    return None


def modelfile(version, adapter_path: Path) -> str:
    """A Modelfile for `ollama create`: FROM base, ADAPTER, TEMPLATE and stop parameters."""
    return _modelfile(base_name(version), template_for(version), version.prompt, adapter=adapter_path)


def runtime_modelfile(version, base: str, adapter: str) -> str:
    """A Modelfile for the runtime export (models_registry.runtime_export): FROM a GGUF base, ADAPTER a GGUF LoRA."""
    return _modelfile(base, template_for(version), version.prompt, adapter=adapter)


def merged_modelfile(version, merged_dir: Path) -> str:
    """A Modelfile for a merged full model exported by `manage.py export_merged`."""
    return _modelfile(str(merged_dir), template_for(version), version.prompt)


def _modelfile(source: str, template: str, prompt: dict, *, adapter: Path | None = None) -> str:
    # ollama_template() writes no '"""' (quotes go inside Go string actions), so the block is safe.
    lines = [f"FROM {source}"] + ([f"ADAPTER {adapter}"] if adapter else []) + [f'TEMPLATE """{template}"""']
    lines += [f"PARAMETER stop {json.dumps(stop)}" for stop in stop_sequences(prompt)]
    return "\n".join(lines) + "\n"


def base_architecture(version, adapter_dir: Path) -> str | None:
    """The base model's Hugging Face architecture: recorded by the trainer, else its config.json."""
    try:
        recorded = adapters.read_metadata(adapter_dir).get("base_architecture")
    except adapters.AdapterError:
        recorded = None
    if recorded:
        return recorded
    found = (model_store.config(version.base_model) or {}).get("architectures") or [None]
    return found[0]


def adapter_payload(version, adapter_dir: Path) -> dict[str, bytes]:
    """{file name: bytes} of every file Ollama's adapter converter reads; OllamaRefused if it cannot."""
    architecture = base_architecture(version, adapter_dir)
    if architecture not in supported_architectures():
        raise OllamaRefused(
            f"Ollama cannot load a LoRA adapter on a {architecture or 'base of unknown architecture'} base "
            f"(its adapter converter takes {', '.join(supported_architectures())}); export a merged model "
            f"instead: python manage.py export_merged {version.line.name} {version.label}")
    missing = [name for name in PEFT_FILES if not (adapter_dir / name).is_file()]
    if missing:
        raise OllamaRefused(f"{version} has no {', '.join(missing)}; Ollama's adapter converter reads it")
    return {ADAPTER_CONFIG: _adapter_config(version, adapter_dir), ADAPTER_WEIGHTS: (adapter_dir / ADAPTER_WEIGHTS)
            .read_bytes()}


def _adapter_config(version, adapter_dir: Path) -> bytes:
    """adapter_config.json as Ollama decodes it (lora_alpha into a uint32)."""
    raw = (adapter_dir / ADAPTER_CONFIG).read_bytes()
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise OllamaRefused(f"{version}: {ADAPTER_CONFIG} is not valid JSON ({exc})") from exc
    alpha = config.get("lora_alpha")
    if isinstance(alpha, float) and alpha.is_integer() and alpha >= 0:
        # PEFT writes a float alpha as 32.0, which Go cannot decode into an integer field.
        config["lora_alpha"] = int(alpha)
        return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, int) or alpha < 0):
        raise OllamaRefused(f"{version}: Ollama reads lora_alpha as a whole number, this adapter has {alpha!r}; "
                            f"export a merged model: python manage.py export_merged {version.line.name} "
                            f"{version.label}")
    return raw


def create_request(version, template: str, adapters: dict[str, str], *, files: dict[str, str] | None = None) -> dict:
    """The /api/create body (api.CreateRequest fields): FROM the line's Ollama base, or the model made of `files`."""
    stops = stop_sequences(version.prompt)
    source = {"files": files} if files else {"from": base_name(version)}
    return {"model": version.ollama_name, **source, "adapters": adapters, "template": template,
            "parameters": {"stop": stops} if stops else {}, "stream": False}


def create_model(version, adapter_dir: Path) -> None:
    """Create `<line>:<label>` in Ollama FROM the line's Ollama base model with the version's PEFT files, for
    Ollama's own adapter converter (a GGUF base goes as the runtime export's files instead:
    runtime_export.create_ollama_model)."""
    template = template_for(version)
    digests = {}
    for name, data in adapter_payload(version, adapter_dir).items():
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if _request("HEAD", f"/api/blobs/{digest}", ok=(200, 404)) == 404:
            _request("POST", f"/api/blobs/{digest}", data=data, ok=(200, 201))
        digests[name] = digest
    create(create_request(version, template, digests))


def create(body: dict) -> None:
    """POST /api/create with a body from create_request."""
    _request("POST", "/api/create", body=body)


def upload_file(path: Path) -> str:
    """Upload one file as a blob unless Ollama has it; returns its digest. Streamed, never read whole."""
    digest = "sha256:" + file_sha256(path)
    if _request("HEAD", f"/api/blobs/{digest}", ok=(200, 404)) == 404:
        with open(path, "rb") as handle:
            _request("POST", f"/api/blobs/{digest}", data=handle, length=path.stat().st_size, ok=(200, 201))
    return digest


def tag(source: str, destination: str) -> None:
    """Point `destination` (the line's stable tag) at `source`."""
    _request("POST", "/api/copy", body={"source": source, "destination": destination})


def stable_tag(line) -> str:
    return f"{line.name}:{settings.OLLAMA_STABLE_TAG}"


def _request(method: str, path: str, *, body: dict | None = None, data=None, length: int | None = None,
             ok=(200,)) -> int:
    url = settings.OLLAMA_HOST.rstrip("/") + path
    if body is not None:
        data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if length is not None:  # a file object: sent as it is read, with its size announced
        headers["Content-Length"] = str(length)
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=settings.OLLAMA_TIMEOUT) as response:
            status, text = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:
        raise OllamaError(f"Ollama at {settings.OLLAMA_HOST} unreachable ({method} {path}): {exc}") from exc
    if status not in ok:
        raise OllamaError(f"Ollama {method} {path} failed with HTTP {status}: {_reason(text)}")
    return status


def _reason(text: str) -> str:
    try:
        return str(json.loads(text).get("error", text))[:300]
    except (ValueError, AttributeError):
        return text[:300]
