"""Parameter choice: the size bands, the memory downgrades, the toy model, and reasons on the run."""

import pytest

from professor.parameters import suggest_parameters, values
from tests.professor.factories import cpu_worker, gpu_worker, make_snapshot_row

pytestmark = pytest.mark.django_db
BIG_GPU = gpu_worker("big", 80_000)
REAL_MODEL = "org/some-model"


@pytest.mark.parametrize(("rows", "batch", "epochs"), [
    (50, 2, 5), (99, 2, 5), (100, 4, 3), (500, 4, 3), (501, 6, 3), (1000, 6, 3), (1001, 8, 2), (20000, 8, 2)])
def test_each_size_band_picks_its_batch_and_epochs(rows, batch, epochs):
    chosen = suggest_parameters(make_snapshot_row(rows), BIG_GPU, base_model=REAL_MODEL)
    assert (chosen["batch_size"][0], chosen["num_epochs"][0]) == (batch, epochs)
    assert chosen["gradient_accumulation"][0] == 1
    assert f"{rows} examples" in chosen["batch_size"][1]


def test_a_gpu_under_8_gb_gets_batch_1_with_gradient_accumulation():
    chosen = suggest_parameters(make_snapshot_row(300), gpu_worker("small", 6144), base_model=REAL_MODEL)
    assert chosen["batch_size"][0] == 1
    assert chosen["gradient_accumulation"][0] == 4
    assert "6144 MiB (< 8 GB)" in chosen["batch_size"][1]
    assert "effective batch 4" in chosen["gradient_accumulation"][1]


def test_a_gpu_of_8_gb_keeps_the_band(settings):
    chosen = suggest_parameters(make_snapshot_row(300), gpu_worker("eight", 8192), base_model=REAL_MODEL)
    assert chosen["batch_size"][0] == 4


def test_a_cpu_with_little_ram_gets_shorter_sequences_and_a_smaller_rank(settings):
    settings.PROFESSOR_LOW_RAM_MB = 16384
    settings.DEFAULT_LORA_RANK = 16
    chosen = suggest_parameters(make_snapshot_row(300), cpu_worker("laptop", 8000), base_model=REAL_MODEL)
    assert chosen["max_seq_length"][0] == 512 and chosen["lora_rank"][0] == 8
    assert "8000 MiB RAM" in chosen["max_seq_length"][1] and "smaller rank" in chosen["lora_rank"][1]
    roomy = suggest_parameters(make_snapshot_row(300), cpu_worker("server", 64000), base_model=REAL_MODEL)
    assert roomy["max_seq_length"][0] == settings.DEFAULT_MAX_SEQ_LENGTH and roomy["lora_rank"][0] == 16


def test_the_smallest_online_worker_is_assumed_when_none_is_named():
    from django.utils import timezone

    for worker in (gpu_worker("big", 80_000), gpu_worker("small", 4096)):
        worker.last_seen_at = timezone.now()
        worker.save()
    chosen = suggest_parameters(make_snapshot_row(300), base_model=REAL_MODEL)
    assert chosen["batch_size"][0] == 1 and "small" in chosen["batch_size"][1]


def test_the_toy_model_gets_settings_that_learn_visibly():
    chosen = suggest_parameters(make_snapshot_row(60), BIG_GPU, base_model="/data/models/tiny-llama-toy")
    assert chosen["learning_rate"][0] >= 1e-3
    assert chosen["target_modules"][0] == "all-linear"
    assert "toy base model" in chosen["learning_rate"][1]


def test_every_suggestion_is_accepted_by_the_run_validation():
    from training.services.runs import validate_hyperparameters

    for rows in (50, 300, 800, 5000):
        suggestion = suggest_parameters(make_snapshot_row(rows), gpu_worker("small", 4096),
                                        base_model="/x/tiny-llama-toy")
        validate_hyperparameters(values(suggestion))


def test_a_manual_run_stores_a_reason_per_value_and_a_warning_under_50(settings, bob, client):
    from tests.training.factories import make_snapshot
    from training.services import start_run

    settings.DEFAULT_BASE_MODEL = REAL_MODEL
    snapshot = make_snapshot(rows=12)
    suggested = values(suggest_parameters(snapshot, base_model=REAL_MODEL))
    run = start_run(bob, dataset=snapshot, hyperparameters={"batch_size": suggested["batch_size"], "num_epochs": 9})
    choice = run.parameter_choice
    assert choice.source == "manual"
    assert choice.reasons["batch_size"].startswith("the Professor: 12 examples")
    assert choice.reasons["num_epochs"].startswith("set by whoever started the run (the Professor would choose 5")
    assert choice.warnings == ["the dataset has only 12 examples (fewer than 50); an automatic run would refuse it, "
                               "and the adapter will likely learn little"]
    client.force_login(bob)
    page = client.get(f"/training/runs/{run.pk}/").content.decode()
    assert "Why these settings" in page and "only 12 examples" in page and "set by whoever started the run" in page


def test_the_suggestion_is_offered_to_training_through_its_hook():
    from training.services.hooks import advise_parameters

    chosen = advise_parameters(make_snapshot_row(300), BIG_GPU)
    assert chosen["batch_size"][0] == 4


def test_a_manual_start_under_50_examples_warns_with_the_number_in_the_form_and_the_api(settings, bob, client):
    from tests.factories import bearer, make_token
    from tests.training.factories import make_snapshot

    settings.DEFAULT_BASE_MODEL = REAL_MODEL
    snapshot = make_snapshot(rows=12)
    response = client.post("/api/v1/runs", {"dataset": snapshot.sha256}, content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert response.status_code == 201
    assert response.json()["warnings"][0].startswith("the dataset has only 12 examples (fewer than 50)")
    big = make_snapshot(rows=60)
    response = client.post("/api/v1/runs", {"dataset": big.sha256}, content_type="application/json",
                           **bearer(make_token(bob, "Operator")))
    assert not [w for w in response.json()["warnings"] if "examples" in w]  # no dataset warning


def test_the_reasons_from_the_start_form_are_kept_and_each_shown_once(settings, bob, client):
    from tests.training.factories import make_snapshot
    from training.services import start_run

    settings.DEFAULT_BASE_MODEL = REAL_MODEL
    snapshot = make_snapshot(rows=12)
    shared = "the toy base model: these settings make its loss fall visibly within a few dozen steps"
    run = start_run(bob, dataset=snapshot, hyperparameters={"learning_rate": 3e-3, "lora_rank": 16, "num_epochs": 2},
                    setting_reasons={"learning_rate": shared, "lora_rank": shared,
                                     "num_epochs": "set by the person who started the run (the Quick try preset had 4)",
                                     "not_a_setting": "dropped"})
    assert run.parameter_choice.reasons["learning_rate"] == shared
    assert "not_a_setting" not in run.setting_reasons
    client.force_login(bob)
    page = client.get(f"/training/runs/{run.pk}/").content.decode()
    panel = page[page.index('id="parameter-reasons"'):]
    assert panel.count(shared) == 1  # one reason, listed once with the settings it explains
    assert "the Quick try preset had 4" in panel
