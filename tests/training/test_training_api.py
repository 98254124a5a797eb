import pytest

from jobs.models import JobStatus
from tests.factories import bearer, make_token
from tests.training.factories import make_snapshot
from training import services
from training.models import MetricPoint, TrainingRun

pytestmark = pytest.mark.django_db

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture
def operator_token(bob):
    return bearer(make_token(bob, "Operator"))


@pytest.fixture
def viewer_token(viewer):
    return bearer(make_token(viewer, "Viewer"))


def test_an_operator_starts_a_run(client, operator_token):
    dataset = make_snapshot()
    response = client.post("/api/v1/runs", {"dataset": dataset.sha256, "base_model": MODEL,
                                            "hyperparameters": {"lora_rank": 4}},
                           content_type="application/json", **operator_token)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["hyperparameters"]["lora_rank"] == 4
    assert TrainingRun.objects.filter(pk=body["id"]).exists()


def test_bad_hyperparameters_are_a_400_naming_the_field_and_range(client, operator_token):
    response = client.post("/api/v1/runs", {"dataset": make_snapshot().sha256, "base_model": MODEL,
                                            "hyperparameters": {"lora_dropout": 2}},
                           content_type="application/json", **operator_token)
    assert response.status_code == 400
    body = response.json()
    assert body["details"] == [{"field": "lora_dropout", "message": "lora_dropout: 2.0 is out of range [0.0, 0.9]"}]
    assert not TrainingRun.objects.exists()


def test_an_unknown_dataset_is_a_400(client, operator_token):
    response = client.post("/api/v1/runs", {"dataset": "0" * 64}, content_type="application/json", **operator_token)
    assert response.status_code == 400 and response.json()["details"][0]["field"] == "dataset"


def test_a_viewer_may_read_but_not_start(client, viewer_token, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    assert client.get("/api/v1/runs", **viewer_token).json()["runs"][0]["id"] == run.pk
    assert client.get(f"/api/v1/runs/{run.pk}", **viewer_token).json()["status"] == "queued"
    response = client.post("/api/v1/runs", {"dataset": run.dataset.sha256}, content_type="application/json",
                           **viewer_token)
    assert response.status_code == 403
    assert client.post(f"/api/v1/runs/{run.pk}/cancel", **viewer_token).status_code == 403


def test_it_rejects_anonymous_callers(client):
    response = client.get("/api/v1/runs")
    assert response.status_code == 401 and "error" in response.json()


def test_cancel_and_retry(client, operator_token, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    response = client.post(f"/api/v1/runs/{run.pk}/cancel", **operator_token)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = client.post(f"/api/v1/runs/{run.pk}/retry", **operator_token)
    assert response.status_code == 409 and "only failed or lost" in response.json()["error"]
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.FAILED)
    assert client.post(f"/api/v1/runs/{run.pk}/retry", **operator_token).json()["status"] == "queued"


def test_metrics_after_a_step(client, viewer_token, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    for step in (1, 2, 3):
        MetricPoint.objects.create(run=run, step=step, loss=1.0 / step, ts=0)
    body = client.get(f"/api/v1/runs/{run.pk}/metrics?after_step=1", **viewer_token).json()
    assert [p["step"] for p in body["points"]] == [2, 3]
    assert client.get(f"/api/v1/runs/{run.pk}/metrics?after_step=x", **viewer_token).status_code == 400


def test_a_missing_run_is_a_404(client, viewer_token):
    assert client.get("/api/v1/runs/999", **viewer_token).status_code == 404


def test_a_malformed_start_body_names_every_bad_field(client, operator_token):
    response = client.post("/api/v1/runs", {"dataset": "abc", "backend": "gpu", "hyperparameters": [1],
                                            "colour": "red"}, content_type="application/json", **operator_token)
    assert response.status_code == 400
    body = response.json()
    assert {d["field"] for d in body["details"]} == {"dataset", "backend", "hyperparameters", "colour"}
    assert all(d["message"].startswith(d["field"] + ": ") for d in body["details"])
    assert body["error"].startswith("invalid run: ")
    assert not TrainingRun.objects.exists()
