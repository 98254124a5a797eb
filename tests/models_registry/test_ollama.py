import pytest

from models_registry import services
from models_registry.models import Activation, ModelVersion, VersionStatus
from tests.models_registry.factories import make_line, make_version
from tests.models_registry.fake_ollama import FakeOllamaServer


@pytest.fixture
def ollama(settings):
    with FakeOllamaServer() as server:
        settings.OLLAMA_HOST = server.url
        yield server


@pytest.fixture
def line(db):
    return make_line(ollama_base="llama3.2:1b")


def test_promotion_creates_the_model_and_moves_the_stable_tag(line, alice, ollama):
    version = make_version(line)
    services.promote_version(version, alice, "ship it")
    digest = "sha256:" + version.adapter_files["adapter_model.safetensors"]
    assert ollama.paths() == [f"HEAD /api/blobs/{digest}", f"POST /api/blobs/{digest}", "POST /api/create",
                              "POST /api/copy"]
    create = ollama.requests[2]["json"]
    assert create["model"] == "venom-coder:v1" and create["from"] == "llama3.2:1b"
    assert create["adapters"] == {"adapter_model.safetensors": digest}
    assert "{{ .Content }}" in create["template"] and create["parameters"]["stop"] == ["</s>"]
    assert create["stream"] is False
    assert ollama.requests[3]["json"] == {"source": "venom-coder:v1", "destination": "venom-coder:latest"}
    assert ollama.blobs[digest] == b"w1"


def test_failed_creation_undoes_the_promotion(line, alice, ollama):
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    ollama.fail["/api/create"] = (500, "unsupported adapter architecture")
    with pytest.raises(services.RegistryError, match="unsupported adapter architecture"):
        services.promote_version(v2, alice, "second")
    assert line.active_version() == v1
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    assert Activation.objects.filter(line=line).count() == 1
    assert ollama.models["venom-coder:latest"]["model"] == "venom-coder:v1"  # tag untouched


def test_unreachable_ollama_is_reported_and_nothing_changes(line, alice, settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    version = make_version(line)
    with pytest.raises(services.RegistryError, match="unreachable"):
        services.promote_version(version, alice, "x")
    assert not line.versions.active().exists()


def test_modelfile_download_matches_the_training_prompt(client, line, viewer):
    version = make_version(line)
    client.force_login(viewer)
    response = client.get(f"/models/{line.name}/{version.label}/Modelfile")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith("FROM llama3.2:1b\nADAPTER /")
    assert version.adapter_dir in text
    assert '{{- range .Messages }}{{ if eq .Role "system" }}<|system|>\n{{ .Content }}' in text
    assert text.rstrip().endswith('PARAMETER stop "</s>"')
