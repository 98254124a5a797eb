"""Real base models: stored once under the models root, used offline by training containers."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from training import model_store
from training.backends.base import BackendUnavailable, Layout
from training.backends.docker import MODELS_DIR, DockerBackend

PHI3 = "unsloth/Phi-3-mini-4k-instruct"


def _layout(tmp_path, base_model, local_model=None):
    return Layout(run_dir=tmp_path / "run", dataset=tmp_path / "data.jsonl", base_model=base_model,
                  local_model=local_model)


def _store(model_id: str) -> Path:
    folder = model_store.stored_path(model_id)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": ["Phi3ForCausalLM"]}))
    model_store.write_manifest(folder, model_id=model_id, revision=None)
    return folder


def test_a_run_on_a_missing_base_model_is_refused_before_the_container_starts(tmp_path, settings, monkeypatch):
    settings.TRAINING_DOCKER_ALLOW_NETWORK = False
    monkeypatch.setattr("training.backends.docker.client", lambda: pytest.fail("Docker was asked to start it"))
    with pytest.raises(BackendUnavailable, match=f"python manage.py fetch_base_model {PHI3}$"):
        DockerBackend(1, _layout(tmp_path, PHI3)).start()


def test_a_stored_base_model_is_mounted_read_only_with_the_hub_offline(tmp_path, settings):
    settings.TRAINING_DOCKER_ALLOW_NETWORK = False
    settings.TRAINING_DOCKER_EXTRA_MOUNTS = []
    _store(PHI3)
    backend = DockerBackend(1, _layout(tmp_path, PHI3))
    backend.check_base_model()  # present: no refusal
    assert backend.spec({}, "0" * 64)["base_model"] == f"{MODELS_DIR}/unsloth--Phi-3-mini-4k-instruct"
    assert backend._volumes()[str(model_store.models_root())] == {"bind": MODELS_DIR, "mode": "ro"}
    env = backend._environment()
    assert env["HF_HOME"] == MODELS_DIR and env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"


def test_with_network_allowed_an_id_is_left_to_the_hub(tmp_path, settings):
    settings.TRAINING_DOCKER_ALLOW_NETWORK = True
    backend = DockerBackend(1, _layout(tmp_path, PHI3))
    backend.check_base_model()
    assert backend.spec({}, "0" * 64)["base_model"] == PHI3
    assert "HF_HUB_OFFLINE" not in backend._environment()


def test_fetch_base_model_stores_the_snapshot_with_its_sha256_manifest(settings, monkeypatch):
    calls = []

    def fake_snapshot_download(repo_id, revision, local_dir, token):  # the hub is out of reach here
        calls.append((repo_id, revision))
        (Path(local_dir) / "config.json").write_text('{"architectures": ["Phi3ForCausalLM"]}')
        (Path(local_dir) / "model.safetensors").write_bytes(b"weights")
        (Path(local_dir) / ".cache").mkdir(exist_ok=True)

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    out = StringIO()
    call_command("fetch_base_model", PHI3, stdout=out)
    folder = model_store.stored_path(PHI3)
    assert calls == [(PHI3, None)] and str(folder) in out.getvalue()
    manifest = json.loads((folder / model_store.MANIFEST).read_text())
    assert manifest["model_id"] == PHI3 and set(manifest["files"]) == {"config.json", "model.safetensors"}
    assert model_store.require(PHI3) == folder and model_store.config(PHI3)["architectures"] == ["Phi3ForCausalLM"]
    call_command("fetch_base_model", PHI3, "--verify", stdout=StringIO())
    (folder / "model.safetensors").write_bytes(b"altered")
    with pytest.raises(CommandError, match="model.safetensors"):
        call_command("fetch_base_model", PHI3, "--verify", stdout=StringIO())


def test_the_local_backend_trains_a_stored_id_from_its_folder(tmp_path):
    from training.backends.local import LocalBackend

    folder = _store(PHI3)
    assert LocalBackend(1, _layout(tmp_path, PHI3)).spec({}, "0" * 64)["base_model"] == str(folder)
    assert LocalBackend(1, _layout(tmp_path, "org/absent")).spec({}, "0" * 64)["base_model"] == "org/absent"
