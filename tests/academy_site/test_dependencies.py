"""Dependencies point one way: accounts, jobs (and the artifacts wrapper) <- curation <- training
<- models_registry <- arena <- professor; academy_site only wires them together.

Every import counts, including the ones inside functions (a lazy import is still a dependency).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lower number = lower layer. An app may import apps of a lower layer only.
LAYERS = {
    "accounts": 0, "artifacts": 0, "jobs": 0,
    "curation": 1,
    "training": 2,
    "models_registry": 3,
    "arena": 4,
    "professor": 5,
    "academy_site": 6,
}
# Same-layer imports that are part of the design (the consumer base checks roles and tokens).
ALLOWED_PEERS = {("jobs", "accounts")}


def imported_apps(package: Path) -> dict[str, set[str]]:
    """{other app: files of `package` that import it}."""
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in LAYERS and top != package.name:
                    found.setdefault(top, set()).add(str(path.relative_to(package.parent)))
    return found


def violations(root: Path) -> list[str]:
    problems = []
    for app, layer in LAYERS.items():
        package = root / app
        if not package.is_dir():
            continue
        for other, files in sorted(imported_apps(package).items()):
            if LAYERS[other] < layer or (app, other) in ALLOWED_PEERS:
                continue
            problems.append(f"{app} imports {other} (a higher or peer app) in {', '.join(sorted(files))}")
    return problems


def test_every_app_imports_only_apps_below_it():
    assert violations(ROOT) == []


def test_every_app_package_is_placed_in_a_layer():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps - set(LAYERS) == set(), "add the new app to LAYERS (and to docs/architecture.md)"


def test_the_check_catches_an_upward_import_even_inside_a_function(tmp_path):
    (tmp_path / "curation").mkdir()
    (tmp_path / "curation" / "views.py").write_text("def page():\n    from training.models import TrainingRun\n")
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "ws.py").write_text("import jobs.broadcast\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "consumers.py").write_text("from accounts.roles import VIEW_DASHBOARD\n")
    assert violations(tmp_path) == [
        "accounts imports jobs (a higher or peer app) in accounts/ws.py",
        "curation imports training (a higher or peer app) in curation/views.py",
    ]
