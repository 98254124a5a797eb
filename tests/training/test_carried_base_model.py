"""With a remote artifact store a run carries its base model when the model's folder is under the data root."""

import pytest

from artifacts import store
from tests.s3_server import s3_store  # noqa: F401 (fixture)
from tests.training.factories import make_snapshot
from training import services
from training.execution import _base_model

pytestmark = pytest.mark.django_db


def test_a_stored_hub_model_travels_with_the_run_and_another_host_fetches_it(s3_store, bob, settings,  # noqa: F811
                                                                             tmp_path):
    folder = settings.DATA_DIR / "models" / "org--tiny"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(b"\0weights")
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/tiny", backend="local")
    carried = run.artifacts["base_model"]
    assert carried["key"] == "models/org--tiny"
    assert carried["files"] == store.folder_hashes(folder)

    settings.DATA_DIR = tmp_path / "worker-host"  # a worker on another host, nothing there yet
    base_model, local_model = _base_model(run)
    assert local_model == (tmp_path / "worker-host" / "models" / "org--tiny").resolve()
    assert base_model == str(local_model) and store.folder_hashes(local_model) == carried["files"]


def test_without_a_remote_store_nothing_is_carried(bob, settings):
    folder = settings.DATA_DIR / "models" / "org--tiny"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    run = services.start_run(bob, dataset=make_snapshot(), base_model="org/tiny", backend="local")
    assert "base_model" not in run.artifacts
