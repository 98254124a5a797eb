"""Git mining throughput and peak memory: our streamed miner against PyDriller.

    .venv/bin/python bench/git_mining.py [--repo PATH] [--commits 3000] [--skip-service]

Generates a test repository with bench/make_test_repo.py (unless --repo is given), then
runs each miner in its own fresh Python process over the same commit range (the whole
history of the branch), applying the same rules (curation.git_rules.select_diff) to both,
and compares the (diff, message) pairs each one produces. Peak memory is the worker's
maximum resident set size (the Python process only; `git` child processes are reported
separately). A third run mines end to end through the service into a temporary SQLite
database (rows written), to show what the database adds. Needs `pip install -e '.[bench]'`.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _usage() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_rss_mib": round(own / 1024, 1), "git_children_peak_rss_mib": round(children / 1024, 1)}


def _hunks(text: str) -> str:
    """The patch body from its first hunk on: what both miners can be compared on."""
    at = 0 if text.startswith("@@ ") else text.find("\n@@ ") + 1
    return text[at:].rstrip("\n") if at > 0 or text.startswith("@@ ") else ""


def work_ours(repo: str, out: Path) -> dict:
    from curation import git_rules, gitrepo

    rules = git_rules.MiningRules()
    started = time.perf_counter()
    head = gitrepo.resolve_revision(repo)
    seen = kept = 0
    with out.open("w") as sink:
        for commit in gitrepo.iter_commits(repo, head):
            seen += 1
            blocks, reason = git_rules.select_diff(commit, rules)
            if reason:
                continue
            kept += 1
            git_rules.cap_diff(blocks, rules.max_diff_chars)
            files = [[f.path, _hunks(f.text)] for f in commit.files if f.text in blocks]
            sink.write(json.dumps({"sha": commit.sha, "message": commit.message, "files": files}) + "\n")
    return {"seconds": time.perf_counter() - started, "commits": seen, "kept": kept}


class _File:
    __slots__ = ("path", "binary", "text")

    def __init__(self, path, binary, text):
        self.path, self.binary, self.text = path, binary, text


class _Commit:
    __slots__ = ("author_name", "author_email", "message", "files")

    def __init__(self, name, email, message, files):
        self.author_name, self.author_email, self.message, self.files = name, email, message, files


def work_pydriller(repo: str, out: Path) -> dict:
    from pydriller import Repository

    from curation import git_rules

    rules = git_rules.MiningRules()
    started = time.perf_counter()
    seen = kept = 0
    with out.open("w") as sink:
        for commit in Repository(repo, only_no_merge=True).traverse_commits():
            seen += 1
            files = []
            for modified in commit.modified_files:
                text = modified.diff or ""
                binary = text.startswith("Binary files ")
                files.append(_File(modified.new_path or modified.old_path, binary, text))
            shaped = _Commit(commit.author.name, commit.author.email or "", commit.msg, files)
            blocks, reason = git_rules.select_diff(shaped, rules)
            if reason:
                continue
            kept += 1
            git_rules.cap_diff(blocks, rules.max_diff_chars)
            kept_files = [[f.path, _hunks(f.text)] for f in files if f.text in blocks]
            sink.write(json.dumps({"sha": commit.hash, "message": commit.msg, "files": kept_files}) + "\n")
    return {"seconds": time.perf_counter() - started, "commits": seen, "kept": kept}


def work_service(repo: str, out: Path) -> dict:
    data = Path(tempfile.mkdtemp(prefix="academy-bench-"))
    os.environ.update({"ACADEMY_DATA_DIR": str(data), "SECRET_KEY": "bench-only", "GIT_ALLOWED_ROOTS": repo,
                       "DJANGO_SETTINGS_MODULE": "academy_site.settings", "ACADEMY_EMBEDDED_WORKER": "false"})
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from curation.services.git_mining import mine_repository, register_repository

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    stats = mine_repository(register_repository(repo))
    return {"seconds": time.perf_counter() - started, "commits": stats["commits_seen"], "kept": stats["kept"]}


WORKERS = {"ours": work_ours, "pydriller": work_pydriller, "service": work_service}


def run_worker(kind: str, repo: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", kind, "--repo", str(repo), "--out", str(out)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: Path, theirs: Path) -> dict:
    def load(path):
        return {row["sha"]: row for row in map(json.loads, path.read_text().splitlines())}

    a, b = load(ours), load(theirs)
    both = a.keys() & b.keys()
    differing = [sha for sha in both if (a[sha]["message"], a[sha]["files"]) != (b[sha]["message"], b[sha]["files"])]
    return {"kept_by_both": len(both), "only_ours": len(a.keys() - b.keys()),
            "only_pydriller": len(b.keys() - a.keys()), "pairs_differing": len(differing),
            "example_difference": differing[:1]}


def main() -> int:
    parser = argparse.ArgumentParser(description="git mining benchmark")
    parser.add_argument("--repo", type=Path)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--skip-service", action="store_true")
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](str(args.repo), args.out)
        print(json.dumps({**result, **_usage()}))
        return 0
    with tempfile.TemporaryDirectory(prefix="git-bench-") as scratch:
        scratch = Path(scratch)
        repo = args.repo
        if repo is None:
            from make_test_repo import make_repository

            started = time.perf_counter()
            repo = make_repository(scratch / "repo", args.commits)
            print(f"generated {args.commits} commits in {time.perf_counter() - started:.1f} s at {repo}")
        repo = repo.resolve()
        results = {"ours": run_worker("ours", repo, scratch / "ours.jsonl"),
                   "pydriller": run_worker("pydriller", repo, scratch / "pydriller.jsonl")}
        if not args.skip_service:
            results["service"] = run_worker("service", repo, scratch / "service.jsonl")
        for kind, r in results.items():
            rate = r["commits"] / r["seconds"]
            print(f"{kind:10s} {r['commits']:6d} commits in {r['seconds']:7.2f} s = {rate:8.1f} commits/s, "
                  f"kept {r['kept']}, peak RSS {r['peak_rss_mib']} MiB (git children {r['git_children_peak_rss_mib']})")
        ours, theirs = results["ours"], results["pydriller"]
        speedup = (ours["commits"] / ours["seconds"]) / (theirs["commits"] / theirs["seconds"])
        print(f"speed ratio ours/pydriller: {speedup:.1f}x; peak RSS ratio ours/pydriller: "
              f"{ours['peak_rss_mib'] / theirs['peak_rss_mib']:.2f}")
        print("pair comparison:", json.dumps(compare(scratch / "ours.jsonl", scratch / "pydriller.jsonl")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
