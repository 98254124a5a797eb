import pytest


@pytest.fixture(scope="session")
def toy(tmp_path_factory):
    """Toy base model + two random LoRA adapters (needs torch, transformers, peft)."""
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    from tests.models_registry.tiny_models import build_toy_set

    return build_toy_set(tmp_path_factory.mktemp("arena-toy"))
