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
    assert _data(html, "run-presets-data")["quick"]["values"]["num_epochs"] == 1


def test_a_preset_in_the_query_fills_the_fields_without_javascript(client, bob):
    make_snapshot()
    client.force_login(bob)
    html = client.get("/training/runs/new/?preset=quick").content.decode()
    assert re.search(r'name="num_epochs" value="1"', html) and re.search(r'name="max_seq_length" value="256"', html)
    assert 'value="quick" checked' in html


def test_the_professors_suggestion_is_offered_with_its_reasons(client, bob, monkeypatch):
    snapshot = make_snapshot(rows=40)
    monkeypatch.setattr(hooks, "parameter_advisors",
                        [lambda snap, worker: {"batch_size": (2, f"{snap.row_count} rows: batch 2")}])
    guide = start_form_guide({"dataset": str(snapshot.pk), "preset": "suggested"})
    assert guide["preset"] == "suggested" and guide["values"]["batch_size"] == 2
    assert "40 rows: batch 2" in guide["presets"]["suggested"]["explain"]


def test_the_estimate_counts_updates_per_epoch():
    assert estimate_steps(100, {"batch_size": 8, "gradient_accumulation": 2, "num_epochs": 3}) == 7 * 3
    assert estimate_steps(0, {"batch_size": 8, "num_epochs": 2}) == 0
