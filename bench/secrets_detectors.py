"""Secret detectors side by side: ours, detect-secrets and gitleaks' rules.

    .venv/bin/python bench/secrets_detectors.py [--history-commits 400] [--public-repo PATH]

1. The labelled corpus (tests/curation/secrets_corpus.py): recall per labelled kind, overall
   recall and precision, and how many benign look-alikes each detector touches.
2. False positives on real history: the added lines of this repository's commits (its own
   test fixtures, which hold made-up secrets on purpose, are counted apart) and, with
   --public-repo, of a public repository's commits. Nothing there is a real secret, so every
   finding outside the fixtures is a false positive.

Baselines:
- detect-secrets 1.5 (`bench` extra) with its default plugins and filters, run the way its
  CLI runs (`SecretsCollection.scan_file` on a file holding the text);
- gitleaks' own rules (gitleaks.toml, every rule including `generic-api-key`) with their
  keywords, entropy thresholds and allowlists, matched by RE2 as gitleaks matches them
  (its Go binary cannot be installed here). The five rules bound to a file type (.tf,
  .php, nuget.config, .yaml, .p12) are left out for all: the texts carry no file name.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from curation.secrets import find_secrets  # noqa: E402
from curation.secrets.providers import gitleaks_rules  # noqa: E402
from tests.curation.secrets_corpus import evaluate  # noqa: E402

# Files that hold made-up secrets on purpose (test data, the demo, the rules and their docs).
FIXTURE_PATHS = ("tests/", "bench/", "docs/", "curation/secrets/", "academy_site/demo/")


def ours(text: str) -> list[tuple[str, int, int]]:
    return [(f.kind, f.start, f.end) for f in find_secrets(text)]


_GITLEAKS = None


def gitleaks(text: str) -> list[tuple[str, int, int]]:
    global _GITLEAKS
    if _GITLEAKS is None:
        _GITLEAKS = gitleaks_rules(skipped=frozenset(), placeholders=False)
    lowered = text.lower()
    found = []
    for rule in _GITLEAKS:
        if rule.keywords and not any(word in lowered for word in rule.keywords):
            continue
        found += [(rule.name.split(":", 1)[1], start, end) for start, end in rule.find(text)]
    return found


class DetectSecrets:
    """detect-secrets' default plugins and filters, scanning a temporary file per text."""

    def __init__(self):
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings

        self._collection = SecretsCollection
        self._settings = default_settings
        self._folder = tempfile.mkdtemp(prefix="ds-bench-")

    def __call__(self, text: str) -> list[tuple[str, int, int]]:
        path = os.path.join(self._folder, "snippet.txt")
        Path(path).write_text(text)
        collection = self._collection()
        with self._settings():
            collection.scan_file(path)
        lines = text.split("\n")
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line) + 1)
        found = []
        for _, secret in collection:
            line = lines[secret.line_number - 1]
            value = secret.secret_value or ""
            column = line.find(value) if value else -1
            if column >= 0:
                start = offsets[secret.line_number - 1] + column
                found.append((secret.type, start, start + len(value)))
            else:  # no value to place: count the whole line
                start = offsets[secret.line_number - 1]
                found.append((secret.type, start, start + len(line)))
        return found


def corpus(detectors: dict) -> dict:
    results = {}
    for name, find in detectors.items():
        started = time.perf_counter()
        results[name] = evaluate(find)
        results[name]["seconds"] = round(time.perf_counter() - started, 3)
    return results


def added_lines(repo: Path, commits: int) -> list[tuple[str, str]]:
    """(path, added text) per file per commit, newest first."""
    out = subprocess.run(["git", "-C", str(repo), "log", f"-{commits}", "-p", "--no-merges", "--no-color",
                          "--format=%x00commit %H", "--no-ext-diff", "--no-textconv"],
                         capture_output=True, text=True, errors="replace", check=True,
                         env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}).stdout
    chunks, path, lines = [], None, []
    for line in out.split("\n"):
        if line.startswith("diff --git ") or line.startswith("\x00commit "):
            if path and lines:
                chunks.append((path, "\n".join(lines)))
            path, lines = (line.split(" b/", 1)[-1] if line.startswith("diff") else None), []
        elif path and line.startswith("+") and not line.startswith("+++"):
            lines.append(line[1:])
    if path and lines:
        chunks.append((path, "\n".join(lines)))
    return chunks


def history(repo: Path, commits: int, detectors: dict) -> dict:
    chunks = added_lines(repo, commits)
    report = {"files": len(chunks), "characters": sum(len(text) for _, text in chunks)}
    for name, find in detectors.items():
        started = time.perf_counter()
        fixture, elsewhere, kinds = 0, 0, Counter()
        examples = []
        for path, text in chunks:
            for kind, start, _ in find(text):
                if path.startswith(FIXTURE_PATHS) or "/tests/" in path or "/test_" in path:
                    fixture += 1
                else:
                    elsewhere += 1
                    kinds[kind] += 1
                    if len(examples) < 8:
                        line_start = text.rfind("\n", 0, start) + 1
                        examples.append(f"{path}: {text[line_start:start][-40:]}<<{kind}>>")
        report[name] = {"in_fixtures": fixture, "false_positives": elsewhere, "by_kind": dict(kinds.most_common(8)),
                        "examples": examples, "seconds": round(time.perf_counter() - started, 2)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--history-commits", type=int, default=400)
    parser.add_argument("--public-repo", type=Path, default=None)
    parser.add_argument("--public-commits", type=int, default=300)
    args = parser.parse_args()
    detectors = {"academy": ours, "detect-secrets": DetectSecrets(), "gitleaks rules": gitleaks}
    report = {"corpus": corpus(detectors), "this_repository": history(ROOT, args.history_commits, detectors)}
    if args.public_repo:
        report["public_repository"] = history(args.public_repo, args.public_commits, detectors)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
