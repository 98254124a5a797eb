"""FakeOllamaServer: a small HTTP server speaking the Ollama endpoints the registry uses.

No real Ollama runs in CI, so the fake refuses what real Ollama refuses (server/create.go,
convert.ConvertAdapter, api/types.go), with Ollama's own messages: a blob whose bytes do not
match its digest, a create naming a blob never uploaded or a FROM model it does not have,
adapter files without adapter_config.json or without *.safetensors, an adapter_config.json
that Go cannot decode, a base architecture the adapter converter does not take, and a
TEMPLATE that Go's text/template cannot parse (checked with the Go renderer when given).
A create from "files" (a GGUF model) takes one GGUF adapter of the same architecture.
POST /api/copy follows server/routes.go CopyHandler: both names must parse as model names
(types/model/name.go: host/namespace/model:tag, Ollama's defaults filled in), the source must
exist (matched case-insensitively), and the destination is overwritten.
It records every request, can be told to fail a given endpoint, and can hold requests to an
endpoint until released (hold()), to act while Ollama is busy.
Endpoints: HEAD/POST /api/blobs/<digest>, POST /api/create, POST /api/copy, GET /api/tags.
"""

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# FROM models the fake "has", with their GGUF general.architecture.
BASE_MODELS = {"llama3.2:1b": "llama", "llama3:8b": "llama", "mistral:7b": "llama", "gemma2:2b": "gemma2",
               "phi3:mini": "phi3", "qwen2.5:0.5b": "qwen2"}
ADAPTER_ARCHITECTURES = ("llama", "gemma2")  # convert.ConvertAdapter's switch
_DIGEST = re.compile(r"^sha256[:-][0-9a-f]{64}$")
_UINT32 = (0, 2**32 - 1)
# types/model/name.go: the defaults a short name is completed with.
_DEFAULT_NAME = ("registry.ollama.ai", "library", None, "latest")
_NAME_PART_LIMITS = (350, 80, 80, 80)  # host, namespace, model, tag


class Gate:
    """Requests to one endpoint wait here until release(); `entered` is set when the first arrives."""

    def __init__(self):
        self.entered, self._released = threading.Event(), threading.Event()

    def wait(self) -> None:
        self.entered.set()
        self._released.wait(timeout=120)

    def release(self) -> None:
        self._released.set()


class FakeOllamaServer:
    def __init__(self, *, template_checker=None):
        self.requests: list[dict] = []
        self.blobs: dict[str, bytes] = {}
        self.models: dict[str, dict] = {name: {"model": name, "architecture": arch}
                                        for name, arch in BASE_MODELS.items()}
        self.fail: dict[str, tuple[int, str]] = {}  # path -> (status, error)
        self.gates: dict[str, Gate] = {}  # path -> requests held until released
        self.template_checker = template_checker  # template -> parse error or None (GoRenderer.parse_error)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        for gate in self.gates.values():
            gate.release()
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.requests]

    def hold(self, path: str) -> Gate:
        """Hold every request to `path` (after recording it) until the returned gate is released."""
        self.gates[path] = Gate()
        return self.gates[path]

    def model(self, name: str) -> dict | None:
        """The model `name` refers to, as Ollama finds it (defaults filled in, case-insensitive)."""
        known = self._known_name(name)
        return self.models[known] if known is not None else None

    def _known_name(self, name: str) -> str | None:
        wanted = parse_name(name)
        if wanted is None:
            return None
        for known in self.models:
            parsed = parse_name(known)
            if parsed is not None and [p.lower() for p in parsed] == [p.lower() for p in wanted]:
                return known
        return None

    # ---- what real Ollama checks

    def upload(self, digest: str, data: bytes) -> tuple[int, dict | None]:
        if not _DIGEST.match(digest):
            return 400, {"error": "invalid digest format"}
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest.replace("-", ":", 1):
            return 400, {"error": "digest mismatch"}
        self.blobs[digest] = data
        return 201, None

    def create(self, body: dict) -> tuple[int, dict]:
        if not body.get("model") or parse_name(body["model"]) is None:
            return 400, {"error": "invalid model name"}
        if body.get("files") and not body.get("from"):
            return self._create_from_files(body)
        base = self.models.get(body.get("from") or "")
        if base is None:
            return 400 if not body.get("from") else 404, {
                "error": f"model '{body.get('from')}' not found" if body.get("from")
                else "neither 'from' or 'files' was specified"}
        adapters = body.get("adapters") or {}
        if adapters:
            error = self._adapter_error(adapters, base.get("architecture"))
            if error:
                return 400, {"error": error}
        if body.get("template") and self.template_checker is not None:
            error = self.template_checker(body["template"])
            if error:
                return 400, {"error": f"template error: {error}"}
        self.models[body["model"]] = {**body, "architecture": base.get("architecture")}
        return 200, {"status": "success"}

    def copy(self, raw: bytes) -> tuple[int, dict | None]:
        """server/routes.go CopyHandler: names parsed and checked, the source found, the destination overwritten."""
        if not raw:
            return 400, {"error": "missing request body"}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return 400, {"error": f"invalid character in request body: {exc}"}
        if not isinstance(body, dict):
            return 400, {"error": "json: cannot unmarshal into Go value of type api.CopyRequest"}
        for field in ("source", "destination"):
            if field in body and not isinstance(body[field], str):
                return 400, {"error": f"json: cannot unmarshal {type(body[field]).__name__} into Go struct field "
                                      f"CopyRequest.{field} of type string"}
        source, destination = body.get("source", ""), body.get("destination", "")
        if parse_name(source) is None:
            return 400, {"error": f"source {json.dumps(source)} is invalid"}
        if parse_name(destination) is None:
            return 400, {"error": f"destination {json.dumps(destination)} is invalid"}
        found = self.model(source)
        if found is None:
            return 404, {"error": f"model {json.dumps(source)} not found"}
        self.models[self._known_name(destination) or destination] = found  # getExistingName: same case as before
        return 200, None

    def _create_from_files(self, body: dict) -> tuple[int, dict]:
        """create.go's "files" path: a GGUF model, and at most one GGUF adapter taken as it is."""
        files, adapters = body["files"], body.get("adapters") or {}
        for digest in [*files.values(), *adapters.values()]:
            if digest not in self.blobs:
                return 400, {"error": f"blob {digest} not found"}
        if len(adapters) > 1:
            return 400, {"error": "only one adapter is currently supported"}
        kinds = {name: _gguf_kind(self.blobs[digest]) for name, digest in [*files.items(), *adapters.items()]}
        if any(kind is None for kind in kinds.values()):
            return 400, {"error": "supplied file was not in GGUF format"}
        if [kinds[name][0] for name in adapters] not in ([], ["adapter"]) or any(
                kinds[name][0] == "adapter" for name in files):
            return 400, {"error": "an adapter must be a GGUF of general.type adapter, a model must not be one"}
        architecture = kinds[next(iter(files))][1]
        if any(kinds[name][1] != architecture for name in adapters):
            return 400, {"error": "adapter architecture does not match the model"}
        if body.get("template") and self.template_checker is not None:
            error = self.template_checker(body["template"])
            if error:
                return 400, {"error": f"template error: {error}"}
        self.models[body["model"]] = {**body, "architecture": architecture}
        return 200, {"status": "success"}

    def _adapter_error(self, adapters: dict, architecture: str | None) -> str | None:
        for digest in adapters.values():
            if not digest:
                return "invalid digest format"
            if digest not in self.blobs:
                return f"blob {digest} not found"
        if "adapter_config.json" not in adapters:
            return "open adapter_config.json: file does not exist"
        error = _decode_adapter_config(self.blobs[adapters["adapter_config.json"]])
        if error:
            return error
        if architecture not in ADAPTER_ARCHITECTURES:
            return "unsupported architecture"
        if not any(name.endswith(".safetensors") for name in adapters):
            return "unknown tensor format"
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _handle(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record = {"method": self.command, "path": self.path, "raw": raw}
                if self.headers.get("Content-Type") == "application/json" and raw and not self.path.startswith(
                        "/api/blobs/"):
                    record["json"] = json.loads(raw)
                fake.requests.append(record)
                if self.path in fake.gates:
                    fake.gates[self.path].wait()
                if self.path in fake.fail:
                    status, error = fake.fail[self.path]
                    return self._reply(status, {"error": error})
                return self._route(record)

            def _route(self, record):
                if self.path.startswith("/api/blobs/"):
                    digest = self.path.removeprefix("/api/blobs/")
                    if self.command == "HEAD":
                        return self._reply(200 if digest in fake.blobs else 404)
                    return self._reply(*fake.upload(digest, record["raw"]))
                body = record.get("json") or {}
                if self.path == "/api/create":
                    return self._reply(*fake.create(body))
                if self.path == "/api/copy" and self.command == "POST":
                    return self._reply(*fake.copy(record["raw"]))
                if self.path == "/api/tags":
                    return self._reply(200, {"models": [{"name": n} for n in fake.models]})
                return self._reply(404, {"error": "not found"})

            do_GET = do_POST = do_HEAD = do_DELETE = _handle

        return Handler


def parse_name(name: str) -> tuple[str, str, str, str] | None:
    """(host, namespace, model, tag) as types/model/name.go parses a name, defaults filled in; None if invalid."""
    rest, tag = name, None
    if rest.rfind(":") > rest.rfind("/"):
        rest, tag = rest.rsplit(":", 1)
    parts = rest.split("/")
    if len(parts) > 3:  # the host keeps what is left of the last two slashes (it may hold a scheme)
        parts = ["/".join(parts[:-2]), *parts[-2:]]
    host, namespace, model = [None] * (3 - len(parts)) + parts
    if host is not None and "://" in host:
        host = host.split("://", 1)[1]
    full = tuple(given if given is not None else default
                 for given, default in zip((host, namespace, model, tag), _DEFAULT_NAME, strict=True))
    if not all(_valid_part(kind, part, limit) for kind, (part, limit) in enumerate(zip(full, _NAME_PART_LIMITS,
                                                                                      strict=True))):
        return None
    return full


def _valid_part(kind: int, part: str | None, limit: int) -> bool:
    """isValidPart: 1 to `limit` characters, the first a letter, digit or '_', then also '-' and '.'
    (not in a namespace) and ':' (only in a host)."""
    if not part or len(part) > limit:
        return False
    if not (part[0].isascii() and (part[0].isalnum() or part[0] == "_")):
        return False
    for char in part[1:]:
        if char.isascii() and (char.isalnum() or char in "_-"):
            continue
        if char == "." and kind != 1:
            continue
        if char == ":" and kind == 0:
            continue
        return False
    return True


def _gguf_kind(data: bytes) -> tuple[str, str] | None:
    """(general.type, general.architecture) of a GGUF blob, as ggml.Decode reads them; None if not GGUF."""
    if data[:4] != b"GGUF":
        return None
    import tempfile

    import gguf

    with tempfile.NamedTemporaryFile(suffix=".gguf") as handle:
        handle.write(data)
        handle.flush()
        fields = gguf.GGUFReader(handle.name).fields
        return (fields["general.type"].contents() if "general.type" in fields else "model",
                fields["general.architecture"].contents())


def _decode_adapter_config(data: bytes) -> str | None:
    """What json.Unmarshal into convert.AdapterParameters (+ llamaAdapter) would reject."""
    try:
        config = json.loads(data)
    except ValueError as exc:
        return f"invalid character in adapter_config.json: {exc}"
    if not isinstance(config, dict):
        return "json: cannot unmarshal into Go value of type convert.AdapterParameters"
    fields = {"lora_alpha": config.get("lora_alpha"), "lora_layers": config.get("lora_layers"),
              "num_attention_heads": config.get("num_attention_heads"),
              "num_key_value_heads": config.get("num_key_value_heads"),
              "lora_parameters.rank": (config.get("lora_parameters") or {}).get("rank")}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not _UINT32[0] <= value <= _UINT32[1]:
            return (f"json: cannot unmarshal number {json.dumps(value)} into Go struct field "
                    f"AdapterParameters.{name} of type uint32")
    return None
