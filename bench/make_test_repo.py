"""Generate a realistic git repository for the mining benchmark (deterministic, via git fast-import).

    .venv/bin/python bench/make_test_repo.py OUT_DIR [--commits 3000] [--seed 0]

The history mixes what the miner must handle: conventional and plain messages with bodies,
trivial messages, bot authors (dependabot, renovate, github-actions), merges of topic
branches, renames, deletions, binary files, lock files, vendored and generated files, and
two commits touching 2,000 files (the initial import and a licence-header sweep).
"""

import argparse
import random
import subprocess
import sys
from pathlib import Path

HUMANS = [("Ada Lovelace", "ada@example.com"), ("Linus Ng", "linus@example.com"),
          ("Grace Kim", "grace@example.com"), ("Ken Okafor", "ken@example.com")]
BOTS = [("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
        ("renovate[bot]", "bot@renovateapp.com"), ("github-actions", "actions@github.com")]
TYPES = ["feat", "fix", "docs", "refactor", "perf", "test", "build", "ci", "chore", "style"]
SUBJECTS = ["handle empty {x} in the {y} parser", "add {x} option to the {y} exporter", "speed up {y} lookups",
            "rename {x} to {y} for clarity", "document the {y} settings", "cover {x} edge cases in {y}",
            "drop the unused {x} helper from {y}", "retry {x} requests in {y}", "validate {x} before {y}"]
WORDS = ["cache", "token", "config", "dataset", "session", "request", "schema", "worker", "queue", "index"]
TRIVIAL = ["wip", "fix", "update", "typo", "tmp"]
BIG_FILES = 2000


class Generator:
    def __init__(self, commits: int, seed: int):
        self.rng = random.Random(seed)
        self.commits = commits
        self.files: dict[str, list[str]] = {}
        self.mark = 0
        self.time = 1_700_000_000
        self.out = []

    def blob_line(self, n: int) -> str:
        word = self.rng.choice(WORDS)
        return f"    {word}_{n} = compute_{word}({self.rng.randint(0, 10_000)})  # step {n}\n"

    def new_module(self, lines: int) -> list[str]:
        body = [f"def function_{i}(value):\n" if i % 10 == 0 else self.blob_line(i) for i in range(lines)]
        return ["import os\n", "\n", *body]

    def message(self) -> str:
        subject = self.rng.choice(SUBJECTS).format(x=self.rng.choice(WORDS), y=self.rng.choice(WORDS))
        roll = self.rng.random()
        if roll < 0.05:
            return self.rng.choice(TRIVIAL)
        head = f"{self.rng.choice(TYPES)}: {subject}" if roll < 0.7 else subject.capitalize()
        if self.rng.random() < 0.4:
            issue = self.rng.randint(1, 999)
            head += f"\n\nThe previous behaviour surprised users when the input was empty.\nCloses #{issue}."
        return head

    def emit_commit(self, ref, author, message, changes, *, parent=None, merge=None) -> int:
        self.mark += 1
        self.time += self.rng.randint(60, 7200)
        name, email = author
        data = message.encode()
        parts = [f"commit {ref}\nmark :{self.mark}\n".encode(),
                 f"author {name} <{email}> {self.time} +0000\ncommitter {name} <{email}> {self.time} +0000\n"
                 .encode(), f"data {len(data)}\n".encode(), data, b"\n"]
        if parent:
            parts.append(f"from :{parent}\n".encode())
        if merge:
            parts.append(f"merge :{merge}\n".encode())
        parts.extend(change if isinstance(change, bytes) else change.encode() for change in changes)
        parts.append(b"\n")
        self.out.append(b"".join(parts))
        return self.mark

    def modify(self, path: str, content) -> bytes:
        raw = content if isinstance(content, bytes) else "".join(content).encode()
        if not isinstance(content, bytes):
            self.files[path] = list(content)
        return f"M 100644 inline {path}\ndata {len(raw)}\n".encode() + raw + b"\n"

    def edit_random_files(self, count: int) -> list:
        changes = []
        for path in self.rng.sample(sorted(p for p in self.files if p.endswith(".py")), count):
            lines = self.files[path]
            for _ in range(self.rng.randint(1, 3)):
                at = self.rng.randint(2, max(2, len(lines) - 1))
                if self.rng.random() < 0.6 and at < len(lines):
                    lines[at] = self.blob_line(at)
                else:
                    lines.insert(at, self.blob_line(at))
            changes.append(self.modify(path, lines))
        return changes

    def special(self, i: int) -> tuple | None:
        rng = self.rng
        if i == self.commits // 2:
            changes = [self.modify(p, ["# Licensed under the Apache License 2.0\n", *self.files[p]])
                       for p in sorted(self.files) if p.startswith("src/pkg")]
            return rng.choice(HUMANS), "style: add the licence header to every module", changes
        roll = rng.random()
        if roll < 0.04:
            lock = "".join(f"name = \"pkg{j}\"\nversion = \"1.{rng.randint(0, 99)}\"\n" for j in range(40))
            return rng.choice(BOTS), "chore(deps): bump the pinned packages", [
                self.modify("poetry.lock", lock.splitlines(keepends=True))]
        if roll < 0.07:
            png = bytes(rng.getrandbits(8) for _ in range(2048))
            return rng.choice(HUMANS), self.message(), [self.modify(f"assets/image_{i}.png", b"\x89PNG\r\n\x00" + png),
                                                        *self.edit_random_files(1)]
        if roll < 0.10:
            return rng.choice(HUMANS), self.message(), [
                self.modify("package-lock.json", [f'  "dep{j}": "{rng.randint(1, 9)}.0.0",\n' for j in range(60)]),
                self.modify(f"vendor/lib{i % 7}/util.js", [f"var v{j} = {j + i};\n" for j in range(30)]),
                self.modify(f"static/app{i % 5}.min.js", [f"!function(){{var a={i}}}();\n"]),
                *self.edit_random_files(1)]
        if roll < 0.13:
            old = rng.choice(sorted(p for p in self.files if p.startswith("src/")))
            new = old.replace(".py", f"_v{i}.py")
            lines = self.files.pop(old)
            lines.insert(3, self.blob_line(3))
            return rng.choice(HUMANS), f"refactor: rename {Path(old).stem} to {Path(new).stem}", [
                f"R {old} {new}\n", self.modify(new, lines)]
        if roll < 0.15:
            path = f"src/features/feature_{i}.py"
            return rng.choice(HUMANS), self.message(), [self.modify(path, self.new_module(rng.randint(20, 80)))]
        if roll < 0.16 and len(self.files) > BIG_FILES:
            gone = rng.choice(sorted(p for p in self.files if p.startswith("src/pkg")))
            del self.files[gone]
            return rng.choice(HUMANS), f"chore: remove the dead module {Path(gone).stem}", [f"D {gone}\n"]
        return None

    def generate(self) -> bytes:
        initial = [self.modify(f"src/pkg{n // 100:02d}/mod_{n:04d}.py", self.new_module(12))
                   for n in range(BIG_FILES)]
        initial.append(self.modify("README.md", ["# Demo project\n"]))
        tip = self.emit_commit("refs/heads/main", HUMANS[0], "feat: import the initial code base", initial)
        made = 1
        while made < self.commits:
            if made % 40 == 0:
                side = self.emit_commit("refs/heads/topic", self.rng.choice(HUMANS), self.message(),
                                        [self.modify(f"src/topic/topic_{made}.py", self.new_module(15))], parent=tip)
                tip = self.emit_commit("refs/heads/main", self.rng.choice(HUMANS), self.message(),
                                       self.edit_random_files(2), parent=tip)
                content = self.files[f"src/topic/topic_{made}.py"]
                tip = self.emit_commit("refs/heads/main", HUMANS[1], f"Merge branch 'topic-{made}'",
                                       [self.modify(f"src/topic/topic_{made}.py", content)], parent=tip, merge=side)
                made += 3
                continue
            author, message, changes = self.special(made) or (
                self.rng.choice(HUMANS), self.message(), self.edit_random_files(self.rng.randint(1, 4)))
            tip = self.emit_commit("refs/heads/main", author, message, changes, parent=tip)
            made += 1
        return b"".join(self.out)


def make_repository(out: Path, commits: int = 3000, seed: int = 0) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True)
    stream = Generator(commits, seed).generate()
    subprocess.run(["git", "-C", str(out), "fast-import", "--quiet"], input=stream, check=True)
    subprocess.run(["git", "-C", str(out), "reset", "-q", "--hard", "main"], check=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        print(f"{args.out} exists and is not empty", file=sys.stderr)
        return 2
    make_repository(args.out, args.commits, args.seed)
    count = subprocess.run(["git", "-C", str(args.out), "rev-list", "--count", "main"], check=True,
                           capture_output=True, text=True).stdout.strip()
    print(f"{args.out}: {count} commits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
