import pytest
from django.utils import timezone

from jobs.models import JobStatus
from tests.factories import PASSWORD
from tests.training.factories import make_snapshot
from training import services
from training.models import MetricPoint, TrainingRun, TrainingWorker

pytestmark = pytest.mark.django_db

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def _form(dataset, **overrides):
    data = {"dataset": dataset.pk, "base_model": MODEL, "backend": "auto", "lora_rank": 8, "lora_alpha": 16,
            "lora_dropout": 0.05, "target_modules": "q_proj,v_proj", "learning_rate": 0.0002, "num_epochs": 1,
            "batch_size": 2, "gradient_accumulation": 1, "max_seq_length": 128, "seed": 1, "eval_every_steps": 5}
    data.update(overrides)
    return data


def test_the_run_list_shows_runs_workers_and_queue(client, viewer, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    MetricPoint.objects.create(run=run, step=3, loss=0.4321, ts=0)
    TrainingWorker.objects.create(hostname="gpu0@box", queues=["training"], current_run=run,
                                  last_seen_at=timezone.now(),
                                  devices=[{"kind": "gpu", "label": "cuda:0 (NVIDIA H100)", "memory_used_mb": 1,
                                            "memory_total_mb": 80000, "utilization_pct": 5}])
    page = _login(client, viewer).get("/training/").content.decode()
    assert f'href="/training/runs/{run.pk}/"' in page
    assert "0.4321" in page and "gpu0@box" in page and "cuda:0 (NVIDIA H100)" in page
    assert 'id="queue-depth">1<' in page
    assert 'action="/training/compare/"' in page
    assert "Cancel" not in page  # a viewer cannot operate


def test_it_rejects_outsider(client, dave):
    assert _login(client, dave).get("/training/").status_code == 403
    assert client.get("/training/runs/new/").status_code == 403


def test_anonymous_users_are_sent_to_login(client):
    assert client.get("/training/").status_code == 302


def test_the_form_starts_a_run_and_redirects_to_its_page(client, bob):
    dataset = make_snapshot()
    _login(client, bob)
    assert client.get("/training/runs/new/").status_code == 200
    response = client.post("/training/runs/new/", _form(dataset, model_line="ops"))
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/training/runs/{run.pk}/"
    assert run.hyperparameters["target_modules"] == ["q_proj", "v_proj"]
    assert run.hyperparameters["model_line"] == "ops"


def test_the_form_names_the_field_and_range_on_bad_input(client, bob):
    _login(client, bob)
    response = client.post("/training/runs/new/", _form(make_snapshot(), lora_rank=0))
    assert response.status_code == 400
    assert "lora_rank: 0 is out of range [1, 1024]" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_a_reviewer_cannot_start_cancel_or_retry(client, carol, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    _login(client, carol)
    assert client.get("/training/runs/new/").status_code == 403
    assert client.post(f"/training/runs/{run.pk}/cancel/").status_code == 403
    assert client.post(f"/training/runs/{run.pk}/retry/").status_code == 403
    assert TrainingRun.objects.get(pk=run.pk).status == JobStatus.QUEUED


def test_an_operator_cancels_and_retries_from_the_list(client, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    _login(client, bob)
    assert client.post(f"/training/runs/{run.pk}/cancel/").status_code == 302
    assert TrainingRun.objects.get(pk=run.pk).status == JobStatus.CANCELLED
    TrainingRun.objects.filter(pk=run.pk).update(status=JobStatus.LOST)
    client.post(f"/training/runs/{run.pk}/retry/")
    assert TrainingRun.objects.get(pk=run.pk).status == JobStatus.QUEUED


def test_the_admin_cancel_action_calls_the_service(client, alice, bob):
    run = services.start_run(bob, dataset=make_snapshot(), base_model=MODEL)
    _login(client, alice)
    response = client.post("/admin/training/trainingrun/", {"action": "cancel_runs", "_selected_action": [run.pk]})
    assert response.status_code == 302
    assert TrainingRun.objects.get(pk=run.pk).status == JobStatus.CANCELLED


def test_the_start_form_shows_which_workers_can_take_the_run_and_routes_it_by_its_needs(client, bob):
    cpu = [{"kind": "cpu", "name": "CPU", "cpu_count": 4, "memory_total_mb": 16000, "label": "cpu"}]
    TrainingWorker.objects.create(hostname="cpu@box", queues=["training", "training.cpu"], devices=cpu,
                                  backends=["local"], last_seen_at=timezone.now())
    TrainingWorker.objects.create(hostname="gpu@box", queues=["training", "training.gpu", "training.gpu-24g"],
                                  backends=["local", "docker"], last_seen_at=timezone.now(), devices=[
                                      {"kind": "gpu", "name": "NVIDIA L4", "memory_total_mb": 23034}, *cpu])
    TrainingWorker.objects.create(hostname="stopped@box", devices=cpu, last_seen_at=timezone.now(),
                                  stopped_at=timezone.now())
    page = _login(client, bob).get("/training/runs/new/").content.decode()
    assert 'data-worker="cpu@box" data-gpu-mb="" data-ram-mb="16000" data-backends="local"' in page
    assert 'data-worker="gpu@box" data-gpu-mb="23034"' in page and "NVIDIA L4 (23034 MiB)" in page
    assert "stopped@box" not in page
    assert 'name="gpu_memory_gb"' in page and "js/run_new_workers.js" in page

    dataset = make_snapshot()
    client.post("/training/runs/new/", _form(dataset, gpu_memory_gb=20))
    gpu_run = TrainingRun.objects.get()
    assert gpu_run.queue_name == "training.gpu-24g" and gpu_run.requirements["gpu"] is True
    response = client.post("/training/runs/new/", _form(dataset, gpu_memory_gb=40), follow=True)
    big_run = TrainingRun.objects.exclude(pk=gpu_run.pk).get()
    assert big_run.queue_name == "training.gpu-48g"
    assert "No online worker can take it yet: it waits on training.gpu-48g" in response.content.decode()
