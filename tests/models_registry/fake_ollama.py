"""FakeOllamaServer: a small HTTP server speaking the Ollama endpoints the registry uses.

It records every request and can be told to fail a given endpoint, since no real Ollama
runs in CI. Endpoints: HEAD/POST /api/blobs/<digest>, POST /api/create, POST /api/copy,
GET /api/tags.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOllamaServer:
    def __init__(self):
        self.requests: list[dict] = []
        self.blobs: dict[str, bytes] = {}
        self.models: dict[str, dict] = {}
        self.fail: dict[str, tuple[int, str]] = {}  # path -> (status, error)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [f"{r['method']} {r['path']}" for r in self.requests]

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
                if self.path in fake.fail:
                    status, error = fake.fail[self.path]
                    return self._reply(status, {"error": error})
                return self._route(record)

            def _route(self, record):
                if self.path.startswith("/api/blobs/"):
                    digest = self.path.removeprefix("/api/blobs/")
                    if self.command == "HEAD":
                        return self._reply(200 if digest in fake.blobs else 404)
                    fake.blobs[digest] = record["raw"]
                    return self._reply(201)
                body = record.get("json") or {}
                if self.path == "/api/create":
                    missing = [d for d in (body.get("adapters") or {}).values() if d not in fake.blobs]
                    if missing:
                        return self._reply(400, {"error": f"blob {missing[0]} not found"})
                    fake.models[body["model"]] = body
                    return self._reply(200, {"status": "success"})
                if self.path == "/api/copy":
                    if body.get("source") not in fake.models:
                        return self._reply(404, {"error": f"model '{body.get('source')}' not found"})
                    fake.models[body["destination"]] = fake.models[body["source"]]
                    return self._reply(200)
                if self.path == "/api/tags":
                    return self._reply(200, {"models": [{"name": n} for n in fake.models]})
                return self._reply(404, {"error": "not found"})

            do_GET = do_POST = do_HEAD = do_DELETE = _handle

        return Handler
