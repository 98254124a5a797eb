"""The real base model (SmolLM2-135M-Instruct, packaged as a GGUF) stored by its short name and trained on.

One real training run (a few steps, in a child process, as `manage.py train` runs it); the
rest reads the stored snapshot. The snapshot comes from the per-machine cache (tests/real_model.py).
"""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from artifacts.hashing import file_sha256
from jobs.models import JobStatus
from models_registry.services import register_run_version
from tests.real_model import NAME, cached_snapshot, install_snapshot, packaged_gguf
from tests.training.factories import make_snapshot
from training import model_store
from training.backends.base import Layout
from training.backends.docker import MODELS_DIR, DockerBackend
from training.models import MetricPoint, TrainingRun
from training.services.runs import validate_base_model
from training.trainer.run import base_identity


@pytest.fixture
def smollm2(settings):
    """SmolLM2 stored under this test's models root, as fetch_base_model leaves it."""
    return install_snapshot(model_store.models_root())


def _host_paths(value, roots) -> list[str]:
    text = json.dumps(value)
    return [str(root) for root in roots if str(root) in text]


@pytest.mark.mode_independent
@pytest.mark.django_db
def test_training_smollm2_by_short_name_lowers_its_loss_and_records_its_name_and_digest(smollm2, settings):
    settings.TRAINING_BACKEND = "local"
    dataset = make_snapshot(rows=8)
    out = io.StringIO()
    call_command("train", "--dataset", dataset.sha256, "--base", NAME, "--backend", "local", "--wait",
                 "--in-process", "--set", "max_steps=3", "--set", "batch_size=2", "--set", "max_seq_length=48",
                 "--set", "learning_rate=0.002", "--set", "logging_every_steps=1", "--set", "eval_every_steps=3",
                 "--set", "lora_rank=8", "--set", "lora_alpha=16", stdout=out)
    run = TrainingRun.objects.get()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.base_model == NAME
    losses = list(MetricPoint.objects.filter(run=run, kind=MetricPoint.Kind.TRAIN).order_by("step")
                  .values_list("loss", flat=True))
    assert len(losses) == 3 and losses[-1] < losses[0]

    meta = json.loads((Path(settings.DATA_DIR) / run.run_dir / "adapter" / "academy_adapter.json").read_text())
    digest = model_store.manifest(NAME)["digest"]
    assert meta["base_model"] == NAME and meta["base_model_digest"] == digest
    assert meta["prompt"]["eos_token"] == "<|im_end|>" and "<|im_start|>" in meta["prompt"]["template"]

    version = register_run_version(run)
    assert version.base_model == NAME and version.line.base_model == NAME
    assert version.metrics["base_model"] == {"name": NAME, "digest": digest}
    roots = [Path(settings.DATA_DIR), smollm2, cached_snapshot()]
    stored = [version.base_model, version.adapter_dir, version.prompt, version.metrics, version.line.base_model,
              run.base_model, run.artifacts]
    assert _host_paths(stored, roots) == [] and _host_paths(meta, roots) == []


def test_the_trainer_names_a_stored_model_by_its_manifest_wherever_its_folder_is_mounted(smollm2, tmp_path):
    mounted = tmp_path / "models" / NAME  # a container sees the same folder at another path
    shutil.copytree(smollm2, mounted, copy_function=lambda src, dst: Path(dst).symlink_to(src))
    digest = model_store.manifest(NAME)["digest"]
    assert base_identity(str(smollm2)) == (NAME, digest)
    assert base_identity(str(mounted)) == (NAME, digest)
    assert base_identity("org/model") == ("org/model", None)  # an id without a stored folder stays as given
    layout = Layout(run_dir=tmp_path / "run", dataset=tmp_path / "data.jsonl", base_model=NAME, local_model=None)
    assert DockerBackend(1, layout).spec({}, "0" * 64)["base_model"] == f"{MODELS_DIR}/{NAME}"


def test_a_run_accepts_a_stored_short_name_and_turns_its_folder_path_into_the_name(smollm2):
    assert validate_base_model(NAME) == NAME
    assert validate_base_model(str(smollm2)) == NAME
    assert model_store.display_name(NAME) == "SmolLM2 135M Instruct"
    assert [m["name"] for m in model_store.stored_models()] == [NAME]


def test_fetch_base_model_stores_smollm2_by_short_name_with_a_digest_that_verifies(settings, monkeypatch):
    gguf = packaged_gguf()

    def converted_once(source, output):
        # The cache already ran the real conversion of this very GGUF (tests/real_model.py):
        # copying its result keeps this test from spending CI's two cores on a second one.
        assert Path(source) == gguf
        shutil.copytree(cached_snapshot(), output, ignore=shutil.ignore_patterns(model_store.MANIFEST))
        for path in output.iterdir():
            path.chmod(0o644)

    monkeypatch.setattr("training.trainer.gguf_base.convert", converted_once)
    out = io.StringIO()
    call_command("fetch_base_model", NAME, stdout=out)
    folder = model_store.stored_path(NAME)
    manifest = model_store.manifest(NAME)
    assert f"stored as {NAME}" in out.getvalue() and manifest["digest"][:12] in out.getvalue()
    assert manifest["model_id"] == NAME and manifest["display_name"] == "SmolLM2 135M Instruct"
    assert manifest["source"] == {"kind": "gguf", "file": gguf.name, "sha256": file_sha256(gguf)}
    assert model_store.verify(folder) == [] and manifest["digest"] == cached_manifest_digest()
    call_command("fetch_base_model", NAME, "--verify", stdout=io.StringIO())
    (folder / "tokenizer_config.json").write_text("{}")
    with pytest.raises(CommandError, match="tokenizer_config.json"):
        call_command("fetch_base_model", NAME, "--verify", stdout=io.StringIO())


def cached_manifest_digest() -> str:
    return json.loads((cached_snapshot() / model_store.MANIFEST).read_text())["digest"]


def test_fetch_base_model_refuses_a_file_that_is_not_gguf_and_stores_nothing(settings, tmp_path):
    notes = tmp_path / "weights.bin"
    notes.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(CommandError, match="weights.bin is not a GGUF file"):
        call_command("fetch_base_model", str(notes), stdout=io.StringIO())
    assert not model_store.models_root().exists() or list(model_store.models_root().iterdir()) == []
    assert notes.read_bytes() == b"PK\x03\x04 not a model"


def test_fetch_base_model_refuses_an_unknown_short_name_naming_the_known_ones(settings):
    with pytest.raises(CommandError, match=r"unknown base model 'smollm9-1t'.*smollm2-135m-instruct.*org/name"):
        call_command("fetch_base_model", "smollm9-1t", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_run_on_an_unstored_short_name_is_refused_with_the_command_that_stores_it(settings):
    settings.TRAINING_DOCKER_ALLOW_NETWORK = False
    layout = Layout(run_dir=Path("/nonexistent"), dataset=Path("/nonexistent/d.jsonl"), base_model=NAME,
                    local_model=None)
    with pytest.raises(Exception, match=f"python manage.py fetch_base_model {NAME}"):
        DockerBackend(1, layout).check_base_model()
    with pytest.raises(ValidationError):
        validate_base_model("../" + NAME)
