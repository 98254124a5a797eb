"""Every consumer of an adapter or a base model fetches it through the artifact layer.

Hosts are data roots that share nothing but a real S3 server (moto's): what one host wrote
is published to the store, the host is then removed, and another host (an empty data root)
serves, exports, evaluates or registers the version, fetching and sha256-checking each file.
"""

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from artifacts import store
from jobs.models import JobStatus
from models_registry import adapters, runtime_export
from models_registry.merging import export_merged
from models_registry.services import register_run_version
from models_registry.serving import runtime
from tests.models_registry.factories import make_line, make_version
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_run
from training import model_store

pytestmark = [pytest.mark.django_db]


def _move_to(settings, root: Path) -> Path:
    """This process becomes the host whose data root is `root` (created empty)."""
    root.mkdir(parents=True, exist_ok=True)
    settings.DATA_DIR = root
    return root.resolve()


def _trained_elsewhere(settings, tmp_path, toy):
    """On a training host: the base model carried by a run and its adapter, both published; then the host is gone."""
    trainer = _move_to(settings, tmp_path / "trainer")
    shutil.copytree(toy["base"], trainer / "models" / "toy-base")
    carried = {"key": "models/toy-base", "files": store.publish_folder("models/toy-base")}
    run = make_run(status=JobStatus.SUCCEEDED, base_model=str(trainer / "models" / "toy-base"),
                   artifacts={"base_model": carried})
    line = make_line(base_model=run.base_model)
    version = make_version(line, adapter_src=toy["a"], training_run=run)
    store.publish_folder(version.adapter_dir)
    shutil.rmtree(trainer)  # another machine: nothing of it is reachable from here
    return line, version


def test_serving_on_a_host_without_the_base_or_the_adapter_fetches_both(s3_store, settings, tmp_path, toy):  # noqa: F811
    line, version = _trained_elsewhere(settings, tmp_path, toy)
    server = _move_to(settings, tmp_path / "server")

    served = runtime.swap_to(version)

    assert served.adapter_name in runtime.engine_for(version.base_model).adapters
    assert store.folder_hashes(server / version.adapter_dir) == version.adapter_files
    assert (server / "models" / "toy-base" / "config.json").is_file()
    assert not (tmp_path / "trainer").exists()


def test_export_merged_runtime_export_and_modelfile_fetch_on_a_host_that_lacks_them(
        s3_store, settings, tmp_path, toy, capsys):  # noqa: F811
    line, version = _trained_elsewhere(settings, tmp_path, toy)
    here = _move_to(settings, tmp_path / "exporter")

    call_command("modelfile", line.name, version.label)
    adapter_line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("ADAPTER "))
    assert adapter_line == f"ADAPTER {here / version.adapter_dir}"
    assert store.folder_hashes(here / version.adapter_dir) == version.adapter_files

    shutil.rmtree(here / version.adapter_dir)
    merged = export_merged(version, tmp_path / "merged")
    assert (merged / "config.json").is_file() and (here / "models" / "toy-base" / "config.json").is_file()

    # The toy base has no GGUF: the runtime export says so after fetching it, not "not stored here".
    shutil.rmtree(here / "models")
    with pytest.raises(runtime_export.RuntimeExportError, match="has no GGUF file"):
        runtime_export.export_runtime(version, tmp_path / "runtime")


def test_a_copy_that_differs_here_is_replaced_and_an_altered_store_copy_is_refused(
        s3_store, settings, tmp_path, toy):  # noqa: F811
    server, values = s3_store
    line, version = _trained_elsewhere(settings, tmp_path, toy)
    here = _move_to(settings, tmp_path / "host-b")
    config = here / version.adapter_dir / "adapter_config.json"
    config.parent.mkdir(parents=True)
    config.write_text("{}")  # a stale or tampered copy on this host

    assert adapters.local_folder(version) == here / version.adapter_dir
    assert store.folder_hashes(here / version.adapter_dir) == version.adapter_files

    bucket_key = values["ARTIFACT_STORE_URL"].removeprefix("s3://") + f"/{version.adapter_dir}/adapter_config.json"
    server.filesystem().pipe_file(bucket_key, b'{"r": 64}')
    config.unlink()
    with pytest.raises(adapters.AdapterError, match="adapter_config.json in the artifact store does not match"):
        adapters.local_folder(version)
    assert not config.exists()  # nothing unverified is left where a loader would read it


def test_a_stored_base_model_is_fetched_by_its_name_and_checked_against_the_recorded_digest(
        s3_store, settings, tmp_path, toy):  # noqa: F811
    trainer = _move_to(settings, tmp_path / "trainer")
    folder = trainer / "models" / "toy-named"
    shutil.copytree(toy["base"], folder)
    digest = model_store.write_manifest(folder, model_id="toy-named", revision=None)["digest"]
    store.publish_folder("models/toy-named")
    line = make_line(base_model="toy-named")
    version = make_version(line, adapter_src=toy["a"], metrics={"base_model": {"name": "toy-named", "digest": digest}})
    shutil.rmtree(trainer)
    here = _move_to(settings, tmp_path / "server")

    assert adapters.base_model_folder(version) == here / "models" / "toy-named"
    assert model_store.manifest("toy-named")["digest"] == digest and model_store.verify(here / "models/toy-named") == []

    shutil.rmtree(here / "models")
    version.metrics = {"base_model": {"name": "toy-named", "digest": "0" * 64}}
    with pytest.raises(adapters.AdapterError, match="another snapshot of base model toy-named"):
        adapters.base_model_folder(version)
    assert not (here / "models" / "toy-named").exists()


def test_registration_on_a_host_without_the_adapter_fetches_what_the_worker_uploaded(
        s3_store, settings, tmp_path, toy):  # noqa: F811
    _move_to(settings, tmp_path / "trainer")
    run = make_run(status=JobStatus.SUCCEEDED, base_model="toy-named", run_dir="runs/77")
    shutil.copytree(toy["a"], Path(settings.DATA_DIR) / "runs/77/adapter")
    run.artifacts = {"adapter_dir": "runs/77/adapter", "adapter": store.publish_folder("runs/77/adapter")}
    run.save(update_fields=["artifacts"])
    shutil.rmtree(settings.DATA_DIR)
    here = _move_to(settings, tmp_path / "web")

    version = register_run_version(run)

    assert version.adapter_files == run.artifacts["adapter"]
    assert json.loads((here / "runs/77/adapter/academy_adapter.json").read_text())["prompt"] == version.prompt


def test_evaluation_on_a_host_without_the_models_or_the_snapshot_fetches_them(
        s3_store, settings, tmp_path):  # noqa: F811
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    from arena import services
    from arena.holdouts import snapshot_sources
    from tests.arena.factories import _base, make_exam, trained_adapter
    from tests.training.factories import make_snapshot

    settings.ARENA_MAX_NEW_TOKENS = 4
    trainer = _move_to(settings, tmp_path / "trainer")
    shutil.copytree(_base(), trainer / "models" / "toy-base")
    carried = {"key": "models/toy-base", "files": store.publish_folder("models/toy-base")}
    snapshot = make_snapshot(12)
    store.publish_file(snapshot.path)
    run = make_run(status=JobStatus.SUCCEEDED, base_model=str(trainer / "models" / "toy-base"), dataset=snapshot,
                   artifacts={"base_model": carried})
    line = make_line(name="toy-coder", base_model=run.base_model)
    make_exam(line, count=4)
    version = make_version(line, adapter_src=trained_adapter("domain")[0], training_run=run, dataset=snapshot)
    store.publish_folder(version.adapter_dir)
    shutil.rmtree(trainer)
    here = _move_to(settings, tmp_path / "evaluator")

    evaluation = services.run_evaluation(services.start_evaluation(line, version).pk)

    assert evaluation.status == "succeeded", evaluation.error[-3000:]
    assert store.folder_hashes(here / version.adapter_dir) == version.adapter_files
    assert (here / "models" / "toy-base" / "config.json").is_file()
    # The holdout's contamination check reads the candidate's snapshot: fetched too, not skipped as missing.
    assert snapshot_sources(snapshot) == {("lesson", n) for n in range(1, 13)}
    assert (here / snapshot.path).is_file()
