"""A model line's name is a slug wherever it enters; Admins can rename and delete lines."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from academy_site.env import ConfigError, env_slug
from curation.models import DatasetSnapshot
from models_registry import services
from models_registry.models import ModelLine, VersionStatus
from tests.factories import PASSWORD, bearer, make_token
from tests.models_registry.factories import make_line, make_version, write_fake_adapter
from tests.training.factories import make_snapshot
from training import services as training_services
from training.models import TrainingRun

pytestmark = pytest.mark.django_db

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
BAD_NAMES = ["has space", "slash/inside", "dot.ted", "ünïcode", "x" * 101, "<script>", ""]


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if n])
def test_the_runs_api_refuses_a_model_line_that_is_not_a_slug(client, bob, name):
    response = client.post("/api/v1/runs", {"dataset": make_snapshot().sha256, "base_model": MODEL,
                                            "hyperparameters": {"model_line": name}},
                           content_type="application/json", **bearer(make_token(bob, "Operator")))
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "model_line"
    assert not TrainingRun.objects.exists()


def test_the_service_refuses_a_model_line_that_is_not_a_slug(bob):
    with pytest.raises(ValidationError, match="must be a slug"):
        training_services.start_run(bob, dataset=make_snapshot(), base_model=MODEL,
                                    hyperparameters={"model_line": "ops team"})


def test_the_run_form_refuses_a_model_line_that_is_not_a_slug(client, bob):
    client.login(username=bob.username, password=PASSWORD)
    data = {"dataset": make_snapshot().pk, "base_model": MODEL, "backend": "auto", "lora_rank": 8,
            "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": "q_proj,v_proj", "learning_rate": 0.0002,
            "num_epochs": 1, "batch_size": 2, "gradient_accumulation": 1, "max_seq_length": 128, "seed": 1,
            "eval_every_steps": 5, "model_line": "ops team"}
    response = client.post("/training/runs/new/", data)
    assert response.status_code == 400 and not TrainingRun.objects.exists()


def test_registration_refuses_a_stored_run_whose_line_is_not_a_slug(db):
    snapshot = DatasetSnapshot.objects.create(name="s", sha256="a" * 64, format="alpaca", path="datasets/x.jsonl",
                                              row_count=1, train_count=1, eval_count=0)
    run = TrainingRun.objects.create(dataset=snapshot, base_model="toy/base", run_dir="runs/1",
                                     hyperparameters={"model_line": "bad name"}, status="succeeded")
    write_fake_adapter("runs/1/adapter")
    with pytest.raises(services.RegistryError, match="not a slug"):
        services.register_run_version(run)
    assert not ModelLine.objects.exists()


def test_a_deployment_default_line_that_is_not_a_slug_stops_the_start():
    assert env_slug("MODEL_LINE_DEFAULT", "default", environ={}) == "default"
    with pytest.raises(ConfigError, match="MODEL_LINE_DEFAULT must be a slug"):
        env_slug("MODEL_LINE_DEFAULT", "default", environ={"MODEL_LINE_DEFAULT": "my line"})


def test_the_migration_renames_existing_lines_so_the_models_page_renders(client, viewer):
    make_line("bad name")  # written directly, as older versions allowed
    make_line("bad-name")
    migration = importlib.import_module("models_registry.migrations.0003_rename_lines_that_are_not_slugs")
    migration.rename_lines_that_are_not_slugs(apps, None)
    assert sorted(ModelLine.objects.values_list("name", flat=True)) == ["bad-name", "bad-name-2"]
    assert "Renamed from 'bad name'" in ModelLine.objects.get(name="bad-name-2").description
    client.login(username=viewer.username, password=PASSWORD)
    assert client.get("/models/").status_code == 200


def test_an_admin_renames_a_line_in_the_admin_and_the_name_is_checked(client, alice):
    line = make_line("old-name")
    client.login(username=alice.username, password=PASSWORD)
    url = f"/admin/models_registry/modelline/{line.pk}/change/"
    form = {"name": "not a slug", "description": "", "activations-TOTAL_FORMS": "0",
            "activations-INITIAL_FORMS": "0"}
    assert client.post(url, form).status_code == 200  # the form again, with the error
    assert ModelLine.objects.get().name == "old-name"
    response = client.post(url, {**form, "name": "new-name"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ModelLine.objects.get().name == "new-name"


def test_a_reviewer_cannot_rename_a_line(client, carol):
    line = make_line("old-name")
    carol.is_staff = True
    carol.save()
    client.login(username=carol.username, password=PASSWORD)
    response = client.post(f"/admin/models_registry/modelline/{line.pk}/change/",
                           {"name": "new-name", "description": ""})
    assert response.status_code == 403
    assert ModelLine.objects.get().name == "old-name"


def test_an_admin_deletes_a_line_with_its_versions_from_the_admin(client, alice):
    line = make_line("doomed")
    make_version(line)
    make_version(line, status=VersionStatus.ARCHIVED)
    client.login(username=alice.username, password=PASSWORD)
    response = client.post("/admin/models_registry/modelline/", {
        "action": "delete_line", "_selected_action": [line.pk], "post": "yes"})
    assert response.status_code == 302
    assert not ModelLine.objects.exists()


def test_a_line_whose_version_is_active_is_not_deleted(alice):
    line = make_line("served")
    services.promote_version(make_version(line), alice, "go")
    with pytest.raises(services.RegistryError, match="active version"):
        services.delete_line(line, alice)
    assert ModelLine.objects.filter(name="served").exists()


def test_the_train_command_refuses_a_model_line_that_is_not_a_slug():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="model_line: must be a slug"):
        call_command("train", "--dataset", make_snapshot().sha256, "--base", MODEL, "--set", "model_line=ops team")
    assert not TrainingRun.objects.exists()
