"""The registry and serving against an adapter written by the real trainer on the toy model."""

import pytest

from curation.models import DatasetSnapshot
from models_registry import services
from tests.factories import bearer, make_token


@pytest.mark.django_db
def test_a_trained_run_registers_promotes_and_serves(client, settings, alice, viewer,
                                                     django_capture_on_commit_callbacks):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    from tests.training.trainer_fixtures import records, run_trainer, toy_model, write_snapshot, write_spec
    from training.models import TrainingRun

    run_dir = settings.DATA_DIR / "runs" / "1"
    run_dir.mkdir(parents=True)
    dataset = write_snapshot(run_dir, records("messages"))
    base = toy_model()
    code, events, stderr = run_trainer(write_spec(run_dir, base, dataset, run_dir, max_steps=2))
    assert code == 0, stderr[-2000:]
    snapshot = DatasetSnapshot.objects.create(name="s", sha256="c" * 64, format="messages", path="x.jsonl",
                                              row_count=24, train_count=20, eval_count=4)
    run = TrainingRun.objects.create(dataset=snapshot, base_model=str(base), run_dir="runs/1", status="succeeded",
                                     hyperparameters={"model_line": "toy-line"})
    version = services.register_run_version(run)
    assert version.prompt["style"] == "chat_template" and "adapter_model.safetensors" in version.adapter_files
    with django_capture_on_commit_callbacks(execute=True):
        services.promote_version(version, alice, "first trained adapter")
    response = client.post("/v1/chat/completions", {"model": "toy-line", "max_tokens": 5, "messages": [
        {"role": "user", "content": "How do I list files?"}]}, content_type="application/json",
        **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 200, response.content
    assert response.json()["system_fingerprint"] == "toy-line:v1"
