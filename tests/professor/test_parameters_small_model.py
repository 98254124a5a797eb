"""The Professor's band for small real base models (SmolLM2-135M-sized), read from the stored config."""

import json

import pytest

from professor.parameters import SMALL_MODEL, approximate_parameters, suggest_parameters, values
from tests.professor.factories import gpu_worker, make_snapshot_row
from tests.real_model import NAME, install_snapshot
from training import model_store
from training.services.runs import validate_hyperparameters

pytestmark = pytest.mark.django_db


def test_smollm2_gets_the_small_model_band_by_its_parameter_count():
    folder = install_snapshot(model_store.models_root())
    config = json.loads((folder / "config.json").read_text())
    assert 130e6 < approximate_parameters(config) < 140e6  # SmolLM2-135M
    chosen = suggest_parameters(make_snapshot_row(300), gpu_worker("big", 80_000), base_model=NAME)
    for name, value in SMALL_MODEL.items():
        assert chosen[name][0] == value and "SmolLM2-sized" in chosen[name][1]
    validate_hyperparameters(values(chosen))


def test_a_base_model_outside_the_band_keeps_the_defaults():
    big = model_store.stored_path("org/big-model")
    big.mkdir(parents=True)
    (big / "config.json").write_text(json.dumps({"hidden_size": 4096, "num_hidden_layers": 32, "vocab_size": 32000,
                                                 "intermediate_size": 11008, "num_attention_heads": 32}))
    chosen = suggest_parameters(make_snapshot_row(300), gpu_worker("big", 80_000), base_model="org/big-model")
    assert "SmolLM2" not in chosen["learning_rate"][1] and chosen["learning_rate"][1] == "the deployment's default"
    unknown = suggest_parameters(make_snapshot_row(300), gpu_worker("big", 80_000), base_model="org/not-stored")
    assert unknown["lora_rank"][1] == "the deployment's default"
