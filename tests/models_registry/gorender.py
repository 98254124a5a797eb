"""The Go renderer (tests/models_registry/gotemplate/main.go): Ollama's template engine, built offline."""

import json
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).parent / "gotemplate" / "main.go"


def go_binary() -> str | None:
    return shutil.which("go") or ("/usr/bin/go" if Path("/usr/bin/go").exists() else None)


def build(out_dir: Path) -> Path:
    """Compile the renderer with the standard library only (no module download, own cache)."""
    binary = out_dir / "gotemplate"
    env = {**os.environ, "GOCACHE": str(out_dir / "gocache"), "GOPATH": str(out_dir / "gopath"),
           "GO111MODULE": "off", "GOFLAGS": "", "GOPROXY": "off", "CGO_ENABLED": "0"}
    subprocess.run([go_binary(), "build", "-o", str(binary), str(SOURCE)], check=True, env=env,
                   capture_output=True, timeout=300)
    return binary


class GoRenderer:
    def __init__(self, binary: Path):
        self.binary = binary

    def render(self, template: str, messages: list[dict]) -> str:
        result = self._run({"template": template, "messages": messages})
        if result.returncode:
            raise ValueError(result.stderr.decode())
        return result.stdout.decode()

    def parse_error(self, template: str) -> str | None:
        """Ollama's refusal for a template it cannot parse, or None."""
        result = self._run({"template": template, "parse_only": True})
        return result.stderr.decode().strip() if result.returncode else None

    def _run(self, request: dict):
        return subprocess.run([str(self.binary)], input=json.dumps(request).encode(), capture_output=True,
                              timeout=60)
