"""The Arena sits above the registry: no lower app imports it (it reads metrics["arena"] or offers a hook)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOWER_APPS = ("accounts", "jobs", "curation", "training", "models_registry")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_lower_app_imports_the_arena():
    offenders = [f"{path.relative_to(ROOT)}: {module}"
                 for app in LOWER_APPS for path in (ROOT / app).rglob("*.py")
                 for module in _imported_modules(path) if module == "arena" or module.startswith("arena.")]
    assert offenders == []
