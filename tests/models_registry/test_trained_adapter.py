"""The registry and serving against an adapter written by the real trainer on the toy model."""

import pytest

from models_registry import services
from tests.factories import bearer, make_token
from tests.models_registry.factories import register_trained_run


@pytest.mark.django_db
def test_a_trained_run_registers_promotes_and_serves(client, alice, viewer,
                                                     django_capture_on_commit_callbacks):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    version = register_trained_run(max_steps=2)
    assert version.prompt["style"] == "chat_template" and "adapter_model.safetensors" in version.adapter_files
    with django_capture_on_commit_callbacks(execute=True):
        services.promote_version(version, alice, "first trained adapter")
    response = client.post("/v1/chat/completions", {"model": "toy-line", "max_tokens": 5, "messages": [
        {"role": "user", "content": "How do I list files?"}]}, content_type="application/json",
        **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 200, response.content
    assert response.json()["system_fingerprint"] == "toy-line:v1"
