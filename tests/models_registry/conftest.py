import os

import pytest

from models_registry.serving import runtime
from tests.models_registry.factories import make_served_line


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """Toy base model + adapters a and b (needs torch, transformers, peft)."""
    pytest.importorskip("peft", reason="serving needs the train extra (torch, transformers, peft)")
    from tests.models_registry.tiny_models import build_toy_set

    return build_toy_set(tmp_path_factory.mktemp("toy"))


@pytest.fixture
def served(db, toy, alice):
    """A line on the toy base with v1 (adapter a) active and v2 (adapter b) a candidate."""
    return make_served_line(toy, alice)


@pytest.fixture(autouse=True)
def _fresh_serving():
    """Each test starts with a process that serves nothing yet."""
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture(scope="session")
def go_renderer(tmp_path_factory):
    """Ollama's template engine (Go text/template) built from tests/models_registry/gotemplate."""
    from tests.models_registry.gorender import GoRenderer, build, go_binary

    if go_binary() is None:
        reason = "Go (Debian golang-go) renders Ollama templates; not installed here"
        if os.environ.get("ACADEMY_REQUIRE_GO"):
            pytest.fail(reason)
        pytest.skip(reason)
    return GoRenderer(build(tmp_path_factory.mktemp("gotemplate")))


@pytest.fixture
def promote(django_capture_on_commit_callbacks):
    """services.promote_version with its after-commit steps run (Ollama's tag, the hot swap), which a
    test's own transaction would otherwise never reach."""
    from models_registry import services

    def run(version, user, reason: str = ""):
        with django_capture_on_commit_callbacks(execute=True):
            return services.promote_version(version, user, reason)

    return run
