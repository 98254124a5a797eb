"""The start form offers every stored base model by display name; pages name base models, never host paths."""

import json
import re

import pytest

from tests.real_model import NAME, install_snapshot
from tests.training.factories import make_run, make_snapshot
from training import model_store
from training.base_models import ensure_toy_base
from training.models import TrainingRun
from training.presets import MEASURED_SECONDS_PER_STEP

pytestmark = pytest.mark.django_db


def test_the_form_lists_stored_models_by_display_name_and_starts_a_run_on_the_chosen_name(client, bob, settings):
    settings.DEFAULT_BASE_MODEL = ""
    folder = install_snapshot(model_store.models_root())
    toy = ensure_toy_base()
    snapshot = make_snapshot()
    client.force_login(bob)
    html = client.get("/training/runs/new/").content.decode()
    assert f'<option value="{NAME}">SmolLM2 135M Instruct</option>' in html
    assert f'<option value="{toy}">toy model (offline)</option>' in html
    pace = json.loads(re.search(r'<script id="run-base-pace" type="application/json">(.*?)</script>', html, re.S)[1])
    assert pace[NAME] == MEASURED_SECONDS_PER_STEP[NAME]  # no SmolLM2 run here yet: the measured figure
    form = {"dataset": snapshot.pk, "stored_base": NAME, "base_model": "", "backend": "auto", "lora_rank": 8,
            "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": "q_proj,v_proj", "learning_rate": 0.001,
            "num_epochs": 1, "batch_size": 2, "gradient_accumulation": 1, "max_seq_length": 128, "seed": 1,
            "eval_every_steps": 10}
    response = client.post("/training/runs/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    run = TrainingRun.objects.get()
    assert run.base_model == NAME
    listing = client.get("/training/").content.decode()
    assert "SmolLM2 135M Instruct" in listing and str(folder) not in listing
    detail = client.get(f"/training/runs/{run.pk}/").content.decode()
    assert "SmolLM2 135M Instruct" in detail and str(folder) not in detail


def test_a_local_folder_is_shown_by_its_name_not_its_host_path(client, viewer, settings):
    folder = settings.DATA_DIR / "models" / "my-model"
    make_run(base_model=str(folder))
    client.force_login(viewer)
    html = client.get("/training/").content.decode()
    assert "my-model" in html and str(folder) not in html
