"""The one module that talks to Ollama (HTTP API, stdlib urllib) and writes Modelfiles.

Endpoints used, as documented by Ollama: HEAD/POST /api/blobs/sha256:<digest> (upload an
adapter file), POST /api/create {"model", "from", "adapters", "template", "parameters",
"stream": false}, POST /api/copy {"source", "destination"}.
"""

import json
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings

from models_registry.prompting import ollama_template, stop_sequences

ADAPTER_WEIGHTS = "adapter_model.safetensors"


class OllamaError(RuntimeError):
    """Ollama refused or could not be reached; the message says which call and why."""


def is_enabled() -> bool:
    return bool(settings.OLLAMA_HOST)


def base_name(version) -> str:
    return version.line.ollama_base or version.base_model


def modelfile(version, adapter_path: Path) -> str:
    """A Modelfile for `ollama create`: FROM base, ADAPTER, TEMPLATE and stop parameters."""
    template = ollama_template(version.prompt).replace('"""', '\\"\\"\\"')
    lines = [f"FROM {base_name(version)}", f"ADAPTER {adapter_path}", f'TEMPLATE """{template}"""']
    lines += [f"PARAMETER stop {json.dumps(stop)}" for stop in stop_sequences(version.prompt)]
    return "\n".join(lines) + "\n"


def create_model(version, adapter_dir: Path) -> None:
    """Upload the adapter weights (if Ollama lacks them) and create `<line>:<label>`."""
    digest = "sha256:" + version.adapter_files[ADAPTER_WEIGHTS]
    if _request("HEAD", f"/api/blobs/{digest}", ok=(200, 404)) == 404:
        _request("POST", f"/api/blobs/{digest}", data=(adapter_dir / ADAPTER_WEIGHTS).read_bytes(), ok=(200, 201))
    parameters = {"stop": stop_sequences(version.prompt)} if stop_sequences(version.prompt) else {}
    _request("POST", "/api/create", body={
        "model": version.ollama_name, "from": base_name(version), "adapters": {ADAPTER_WEIGHTS: digest},
        "template": ollama_template(version.prompt), "parameters": parameters, "stream": False})


def tag(source: str, destination: str) -> None:
    """Point `destination` (the line's stable tag) at `source`."""
    _request("POST", "/api/copy", body={"source": source, "destination": destination})


def stable_tag(line) -> str:
    return f"{line.name}:{settings.OLLAMA_STABLE_TAG}"


def _request(method: str, path: str, *, body: dict | None = None, data: bytes | None = None,
             ok=(200,)) -> int:
    url = settings.OLLAMA_HOST.rstrip("/") + path
    if body is not None:
        data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
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
