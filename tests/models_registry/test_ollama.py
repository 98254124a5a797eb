import hashlib
import json
import urllib.request
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from models_registry import ollama, services
from models_registry.models import Activation, ModelLine, ModelVersion, VersionStatus
from tests.factories import bearer, make_token
from tests.models_registry.chat_templates import CONVERSATIONS, MISTRAL_V3_SYSTEM_LAST, PROMPTS, chat
from tests.models_registry.factories import make_line, make_version, register_trained_run
from tests.models_registry.fake_ollama import FakeOllamaServer
from training.trainer.prompts import render_prompt

# api/types.go CreateRequest: the JSON fields Ollama's /api/create decodes.
CREATE_REQUEST_FIELDS = {"model", "stream", "quantize", "draft_quantize", "from", "remote_host", "files",
                         "draft_files", "adapters", "template", "license", "system", "parameters", "messages",
                         "renderer", "parser", "requires", "info", "name", "quantization"}


@pytest.fixture
def template_checker(request):
    """Go's parser when Go is installed (CI has it), so the fake refuses what Ollama cannot parse."""
    try:
        return request.getfixturevalue("go_renderer").parse_error
    except pytest.skip.Exception:
        return None


@pytest.fixture
def ollama_server(settings, template_checker):
    with FakeOllamaServer(template_checker=template_checker) as server:
        settings.OLLAMA_HOST = server.url
        yield server


@pytest.fixture
def line(db):
    return make_line(ollama_base="llama3.2:1b")


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_promotion_uploads_every_file_the_adapter_converter_reads(line, alice, ollama_server, promote):
    version = make_version(line)
    folder = Path(django_settings.DATA_DIR) / version.adapter_dir
    config, weights = (folder / "adapter_config.json").read_bytes(), (folder / "adapter_model.safetensors").read_bytes()
    promote(version, alice, "ship it")
    assert ollama_server.paths() == [f"HEAD /api/blobs/{_sha(config)}", f"POST /api/blobs/{_sha(config)}",
                                     f"HEAD /api/blobs/{_sha(weights)}", f"POST /api/blobs/{_sha(weights)}",
                                     "POST /api/create", "POST /api/copy"]
    create = ollama_server.requests[4]["json"]
    assert set(create) <= CREATE_REQUEST_FIELDS
    assert create["model"] == "venom-coder:v1" and create["from"] == "llama3.2:1b" and create["stream"] is False
    assert create["adapters"] == {"adapter_config.json": _sha(config), "adapter_model.safetensors": _sha(weights)}
    assert ollama_server.blobs[_sha(config)] == config and ollama_server.blobs[_sha(weights)] == weights
    assert create["template"] == ollama.template_for(version)
    assert create["parameters"] == {"stop": ["</s>"]}
    assert ollama_server.requests[5]["json"] == {"source": "venom-coder:v1", "destination": "venom-coder:latest"}


def test_blobs_ollama_already_has_are_not_uploaded_again(line, alice, ollama_server, promote):
    v1 = make_version(line)
    promote(v1, alice, "first")
    config = (Path(django_settings.DATA_DIR) / v1.adapter_dir / "adapter_config.json").read_bytes()
    v2 = make_version(line)
    promote(v2, alice, "second")
    assert ollama_server.paths().count(f"POST /api/blobs/{_sha(config)}") == 1


def test_the_created_template_renders_the_training_prompt_in_go(line, alice, ollama_server, go_renderer, promote):
    version = make_version(line)
    promote(version, alice, "ship it")
    template = ollama_server.models["venom-coder:v1"]["template"]
    for messages in CONVERSATIONS.values():
        assert go_renderer.render(template, messages) == render_prompt(version.prompt, messages)


def test_a_template_refusing_system_messages_is_promoted_with_the_system_prompt_folded(db, alice, ollama_server,
                                                                                       go_renderer, promote):
    line = make_line(name="gemma-line", ollama_base="gemma2:2b")
    version = make_version(line, prompt=PROMPTS["gemma2"], architecture="Gemma2ForCausalLM")
    promote(version, alice, "ship it")
    template = ollama_server.models["gemma-line:v1"]["template"]
    messages = CONVERSATIONS["system and user"]
    assert go_renderer.render(template, messages) == render_prompt(version.prompt, messages).removeprefix("<bos>")


def test_a_whole_float_lora_alpha_is_sent_as_the_integer_go_decodes(line, alice, ollama_server, promote):
    version = make_version(line, lora_alpha=32.0)
    promote(version, alice, "ship it")
    sent = json.loads(ollama_server.blobs[ollama_server.models["venom-coder:v1"]["adapters"]["adapter_config.json"]])
    assert sent["lora_alpha"] == 32 and isinstance(sent["lora_alpha"], int)


def _drop_config(version):
    (Path(django_settings.DATA_DIR) / version.adapter_dir / "adapter_config.json").unlink()
    version.adapter_files = {k: v for k, v in version.adapter_files.items() if k != "adapter_config.json"}
    version.save(update_fields=["adapter_files"])


REFUSALS = {
    "template": ({"prompt": chat(MISTRAL_V3_SYSTEM_LAST, bos="<s>", eos="</s>")},
                 r"cannot export venom-coder:v2 to Ollama: .*in place, in order.*built-in endpoint serves it"),
    "architecture": ({"architecture": "Phi3ForCausalLM"},
                     r"Phi3ForCausalLM base .*takes Gemma2ForCausalLM, LlamaForCausalLM, MistralForCausalLM.*"
                     r"manage.py export_merged venom-coder v2"),
    "fractional lora_alpha": ({"lora_alpha": 16.5}, r"lora_alpha as a whole number, this adapter has 16.5"),
    "missing adapter_config.json": ({}, r"has no adapter_config.json"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_promotion_refused_for_ollama_says_why_and_leaves_the_line_unchanged(line, alice, ollama_server, case,
                                                                            promote):
    extra, message = REFUSALS[case]
    previous = make_version(line)
    promote(previous, alice, "first")
    version = make_version(line, **extra)
    if case == "missing adapter_config.json":
        _drop_config(version)
    before = list(ollama_server.paths())
    with pytest.raises(services.RegistryError, match=message):
        promote(version, alice, "second")
    assert line.active_version() == previous
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.CANDIDATE
    assert Activation.objects.filter(line=line).count() == 1
    assert ollama_server.paths() == before  # refused before any request
    assert ollama_server.models["venom-coder:latest"]["model"] == "venom-coder:v1"


def test_the_promote_page_shows_the_refusal_instead_of_failing(client, line, alice, ollama_server):
    version = make_version(line, prompt=chat(MISTRAL_V3_SYSTEM_LAST, bos="<s>", eos="</s>"))
    client.force_login(alice)
    response = client.post(f"/models/{line.name}/{version.label}/promote/", {"reason": "try", "confirm": "yes"})
    assert response.status_code == 200
    assert "cannot export venom-coder:v1 to Ollama" in response.content.decode()
    assert line.active_version() is None


def test_the_api_answers_a_refusal_as_json_and_changes_nothing(client, line, alice, ollama_server):
    version = make_version(line, architecture="Qwen2ForCausalLM")
    response = client.post(f"/api/v1/lines/{line.name}/versions/{version.label}/promote",
                           json.dumps({"reason": "try"}), content_type="application/json",
                           **bearer(make_token(alice, "Admin")))
    assert response.status_code == 409
    assert "Qwen2ForCausalLM" in response.json()["error"] and "export_merged" in response.json()["error"]
    assert line.active_version() is None and "POST /api/create" not in ollama_server.paths()


def test_failed_creation_undoes_the_promotion(line, alice, ollama_server, promote):
    v1, v2 = make_version(line), make_version(line)
    promote(v1, alice, "first")
    ollama_server.fail["/api/create"] = (500, "disk full")
    with pytest.raises(services.RegistryError, match="disk full"):
        promote(v2, alice, "second")
    assert line.active_version() == v1
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    assert Activation.objects.filter(line=line).count() == 1
    assert ollama_server.models["venom-coder:latest"]["model"] == "venom-coder:v1"  # tag untouched


def test_a_base_ollama_cannot_adapt_is_refused_by_ollama_and_nothing_changes(db, alice, ollama_server, promote):
    line = make_line(name="phi-line", ollama_base="phi3:mini")  # llama weights recorded, phi3 FROM model
    version = make_version(line)
    with pytest.raises(services.RegistryError, match="unsupported architecture"):
        promote(version, alice, "x")
    assert line.active_version() is None


def test_unreachable_ollama_is_reported_and_nothing_changes(line, alice, settings, promote):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    version = make_version(line)
    with pytest.raises(services.RegistryError, match="unreachable"):
        promote(version, alice, "x")
    assert not line.versions.active().exists()


# ---- the fake refuses what Ollama refuses


def _post(server, path, body=None, data=None):
    request = urllib.request.Request(server.url + path, data=data if data is not None else json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _upload(server, data: bytes) -> str:
    assert _post(server, f"/api/blobs/{_sha(data)}", data=data)[0] == 201
    return _sha(data)


def test_fake_ollama_refuses_what_ollama_refuses(ollama_server):
    config, weights = _upload(ollama_server, b'{"lora_alpha": 16}'), _upload(ollama_server, b"tensors")
    create = {"model": "x:v1", "from": "llama3.2:1b", "stream": False}
    cases = [
        ({**create, "adapters": {"adapter_model.safetensors": weights}}, "open adapter_config.json"),
        ({**create, "from": "phi3:mini", "adapters": {"adapter_config.json": config,
                                                       "adapter_model.safetensors": weights}},
         "unsupported architecture"),
        ({**create, "adapters": {"adapter_config.json": config}}, "unknown tensor format"),
        ({**create, "adapters": {"adapter_config.json": _upload(ollama_server, b'{"lora_alpha": 32.0}'),
                                 "adapter_model.safetensors": weights}}, "cannot unmarshal number 32.0"),
        ({**create, "adapters": {"adapter_config.json": "sha256:" + "0" * 64}}, "not found"),
        ({**create, "from": "nowhere:1b"}, "model 'nowhere:1b' not found"),
    ]
    for body, error in cases:
        status, text = _post(ollama_server, "/api/create", body)
        assert status >= 400 and error in text, (body, text)
    assert _post(ollama_server, f"/api/blobs/{_sha(b'a')}", data=b"b") == (400, '{"error": "digest mismatch"}')
    assert _post(ollama_server, "/api/create", {**create, "adapters": {
        "adapter_config.json": config, "adapter_model.safetensors": weights}})[0] == 200


def test_fake_ollama_refuses_a_template_go_cannot_parse(ollama_server, go_renderer):
    status, text = _post(ollama_server, "/api/create",
                         {"model": "x:v1", "from": "llama3.2:1b", "template": "{{ if .Messages }}", "stream": False})
    assert status == 400 and "template error" in text


# ---- Modelfile


def test_modelfile_download_matches_the_command_and_renders_the_training_prompt(client, line, viewer, go_renderer):
    version = make_version(line)
    client.force_login(viewer)
    response = client.get(f"/models/{line.name}/{version.label}/Modelfile")
    assert response.status_code == 200
    text = response.content.decode()
    out = StringIO()
    call_command("modelfile", line.name, version.label, stdout=out)
    assert out.getvalue() == text
    assert text.startswith("FROM llama3.2:1b\nADAPTER /") and version.adapter_dir in text
    assert text.rstrip().endswith('PARAMETER stop "</s>"')
    template = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    messages = CONVERSATIONS["system and multi-turn"]
    assert go_renderer.render(template, messages) == render_prompt(version.prompt, messages)


def test_no_modelfile_is_offered_when_no_template_renders_the_training_prompt(client, line, viewer):
    version = make_version(line, prompt=chat(MISTRAL_V3_SYSTEM_LAST, bos="<s>", eos="</s>"))
    client.force_login(viewer)
    response = client.get(f"/models/{line.name}/{version.label}/Modelfile")
    assert response.status_code == 409 and "in place, in order" in response.content.decode()
    with pytest.raises(CommandError, match="cannot export"):
        call_command("modelfile", line.name, version.label, stdout=StringIO())


def test_an_adapter_from_the_real_trainer_passes_ollamas_create_contract(settings, db, alice, ollama_server,
                                                                         go_renderer, promote):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    version = register_trained_run(max_steps=1)
    ModelLine.objects.filter(pk=version.line_id).update(ollama_base="llama3.2:1b")
    promote(version, alice, "trained")
    created = ollama_server.models["toy-line:v1"]
    sent_config = ollama_server.blobs[created["adapters"]["adapter_config.json"]]
    assert isinstance(json.loads(sent_config)["lora_alpha"], int)  # the trainer writes a whole number itself
    assert sent_config == (Path(settings.DATA_DIR) / "runs/1/adapter/adapter_config.json").read_bytes()
    meta = json.loads((Path(settings.DATA_DIR) / "runs/1/adapter/academy_adapter.json").read_text())
    assert meta["base_architecture"] == "LlamaForCausalLM"
    bos = version.prompt.get("bos_token") or ""
    for messages in CONVERSATIONS.values():
        expected = render_prompt(version.prompt, messages)
        assert go_renderer.render(created["template"], messages) == expected.removeprefix(bos)
