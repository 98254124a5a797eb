"""The demo workspace: sample lessons and task conversations written for Academy (see seed_demo)."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
LESSONS_FILE = DEMO_DIR / "lessons.jsonl"
TASKS_FILE = DEMO_DIR / "tasks.jsonl"
# A small git history to mine (rebuilt by make_repository.py).
DEMO_REPOSITORY = DEMO_DIR / "demo-repository.bundle"
