"""The start form: presets with one-line explanations, field explanations, the model line, the estimate."""

import json
import re

import pytest

from tests.training.factories import make_snapshot
from training.forms import start_form_guide
from training.presets import PRESETS, estimate_steps
from training.services import hooks

pytestmark = pytest.mark.django_db


def _data(html: str, element_id: str):
    return json.loads(re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)[1])


def test_the_form_offers_presets_with_explanations_and_explains_each_field(client, bob):
    snapshot = make_snapshot(rows=40)
    client.force_login(bob)
    html = client.get("/training/runs/new/").content.decode()
    for preset in PRESETS.values():
        assert preset["label"] in html and preset["explain"] in html
    assert "The family this adapter joins" in html  # the model line is explained
    assert "Passes over the training split." in html
    assert _data(html, "run-train-rows") == {str(snapshot.pk): snapshot.train_count}
    quick = _data(html, "run-presets-data")["quick"]
    assert quick["values"]["lora_rank"] == 8 and quick["reasons"]["lora_rank"] == "the Quick try preset"
    assert "Why these settings" in html and 'id="run-why-list"' in html


def test_a_preset_in_the_query_fills_the_fields_without_javascript(client, bob):
    make_snapshot()
    client.force_login(bob)
    html = client.get("/training/runs/new/?preset=quick").content.decode()
    assert re.search(r'name="lora_rank" value="8"', html) and re.search(r'name="max_seq_length" value="256"', html)
    assert 'value="quick" checked' in html


def test_the_professors_suggestion_is_offered_with_its_reasons(client, bob, monkeypatch):
    snapshot = make_snapshot(rows=40)
    monkeypatch.setattr(hooks, "parameter_advisors",
                        [lambda snap, worker: {"batch_size": (2, f"{snap.row_count} rows: batch 2")}])
    guide = start_form_guide({"dataset": str(snapshot.pk), "preset": "suggested"})
    assert guide["preset"] == "suggested" and guide["values"]["batch_size"] == 2
    assert guide["presets"]["suggested"]["reasons"]["batch_size"] == "the Professor: 40 rows: batch 2"


def test_the_estimate_counts_updates_per_epoch():
    assert estimate_steps(100, {"batch_size": 8, "gradient_accumulation": 2, "num_epochs": 3}) == 7 * 3
    assert estimate_steps(0, {"batch_size": 8, "num_epochs": 2}) == 0


@pytest.mark.parametrize("train_rows", [12, 40, 136, 900])
@pytest.mark.parametrize("key", ["quick", "standard", "thorough"])
def test_every_preset_fits_the_toy_model_and_the_dataset_size(settings, key, train_rows):
    from training.base_models import ensure_toy_base, toy_base_path
    from training.presets import TARGET_EVALS, fit_preset
    from training.services import default_hyperparameters

    ensure_toy_base()  # its config (a 512-token context) is read from its files
    fitted = fit_preset(key, base_model=str(toy_base_path()), train_rows=train_rows,
                        defaults=default_hyperparameters())
    values, reasons = fitted["values"], fitted["reasons"]
    steps = estimate_steps(train_rows, values)
    assert values["max_seq_length"] <= 512  # never longer than the toy's context
    assert values["learning_rate"] >= 1e-3  # the toy learns visibly only at a high rate
    assert values["eval_every_steps"] <= max(1, steps // TARGET_EVALS)  # evaluations within the run, several
    assert steps // values["logging_every_steps"] >= min(steps, 25)  # enough train points to read a curve
    assert all(reason for reason in reasons.values())
    if key == "quick":
        assert 1 <= values["num_epochs"] <= 4 and (steps >= 30 or values["num_epochs"] == 4)


def test_the_standard_preset_caps_the_sequence_at_the_base_models_context(settings):
    from training.base_models import ensure_toy_base, toy_base_path
    from training.presets import fit_preset
    from training.services import default_hyperparameters

    ensure_toy_base()
    defaults = {**default_hyperparameters(), "max_seq_length": 1024}
    fitted = fit_preset("standard", base_model=str(toy_base_path()), train_rows=40, defaults=defaults)
    # The toy's recipe asks for 256; a recipe-less model with a short context is capped at it.
    assert fitted["values"]["max_seq_length"] == 256
    fitted = fit_preset("standard", base_model="", train_rows=40, defaults=defaults)
    assert fitted["values"]["max_seq_length"] == 1024 and fitted["reasons"]["max_seq_length"] == \
        "the deployment's default"


def test_a_submitted_value_that_differs_from_the_preset_says_the_person_set_it(client, bob):
    from training.models import TrainingRun

    snapshot = make_snapshot(rows=40)
    client.force_login(bob)
    html = client.get(f"/training/runs/new/?dataset={snapshot.pk}&preset=quick").content.decode()
    values = _data(html, "run-presets-data")["quick"]["values"]
    form = {name: (",".join(value) if isinstance(value, list) else value) for name, value in values.items()
            if value is not None and name != "packing"}
    form.update({"dataset": snapshot.pk, "base_model": "org/model", "backend": "auto", "preset": "quick",
                 "seed": 7})
    response = client.post("/training/runs/new/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    run = TrainingRun.objects.get()
    assert run.setting_reasons["seed"] == "set by the person who started the run (the Quick try preset had 42)"
    assert run.setting_reasons["lora_rank"] == "the Quick try preset"


def test_the_first_run_here_starts_from_the_quick_try_and_later_ones_from_standard(bob):
    from jobs.models import JobStatus
    from training.models import TrainingRun

    snapshot = make_snapshot(rows=40)
    assert start_form_guide({})["preset"] == "quick"
    TrainingRun.objects.create(dataset=snapshot, base_model="org/model", status=JobStatus.SUCCEEDED)
    assert start_form_guide({})["preset"] == "standard"
