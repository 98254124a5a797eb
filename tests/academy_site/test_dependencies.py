"""Dependencies point one way: accounts, jobs (and the artifacts wrapper) <- curation <- training
<- models_registry <- arena <- professor; academy_site only wires them together. Inside an app,
the modules import each other without a circle.

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


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(package: Path) -> dict[str, set[str]]:
    """{module of `package`: the modules of the same package it imports}, lazy imports included.

    `from a.b import c` counts as importing a.b.c when that is a module, else a.b; importing a
    module is not counted as importing its parent packages' __init__ as well."""
    root = package.parent
    paths = {_module_name(path, root): path for path in package.rglob("*.py") if "migrations" not in path.parts}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base for alias in node.names]
            else:
                continue
            graph[name] |= {target for target in targets if target in paths and target != name}
    return graph


def circles(root: Path) -> list[list[str]]:
    """Every group of modules of one app that import each other in a loop (Tarjan's strongly connected parts)."""
    found = []
    for app in LAYERS:
        if not (root / app).is_dir():
            continue
        graph = module_imports(root / app)
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()

        def visit(node, graph=graph, index=index, low=low, stack=stack, on_stack=on_stack):
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            for target in sorted(graph[node]):
                if target not in index:
                    visit(target)
                    low[node] = min(low[node], low[target])
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

        for node in sorted(graph):
            if node not in index:
                visit(node)
    return sorted(found)


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


def test_no_modules_of_an_app_import_each_other_in_a_circle():
    assert circles(ROOT) == []


def test_the_circle_check_finds_a_loop_through_a_lazy_and_a_relative_import(tmp_path):
    (tmp_path / "curation" / "pipeline").mkdir(parents=True)
    (tmp_path / "curation" / "__init__.py").write_text("")
    (tmp_path / "curation" / "pipeline" / "__init__.py").write_text("")
    (tmp_path / "curation" / "models.py").write_text("def reap():\n    from curation.services import files\n")
    (tmp_path / "curation" / "services.py").write_text("from .pipeline import config\n")
    (tmp_path / "curation" / "pipeline" / "config.py").write_text("from ..models import Lesson\n")
    (tmp_path / "curation" / "pipeline" / "split.py").write_text("from curation.pipeline import config\n")
    assert circles(tmp_path) == [["curation.models", "curation.pipeline.config", "curation.services"]]
