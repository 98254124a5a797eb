"""Registering an adapter folder refuses symbolic links anywhere in it, so a version can never
point at a file outside its folder (the probe registered adapter_config.json -> /etc/passwd)."""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings

from models_registry import services
from models_registry.adapters import AdapterError, verify
from models_registry.models import ModelVersion
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, write_fake_adapter

pytestmark = pytest.mark.django_db


def _register(client, alice, line, relative):
    return client.post(f"/api/v1/lines/{line.name}/versions", json.dumps({"adapter_dir": relative}),
                       content_type="application/json", **bearer(make_token(alice, "Admin")))


def test_an_adapter_config_linked_to_etc_passwd_is_refused_through_the_api(client, alice):
    line = make_line()
    relative = write_fake_adapter("outside/evil")
    config = Path(settings.DATA_DIR) / relative / "adapter_config.json"
    config.unlink()
    config.symlink_to("/etc/passwd")
    response = _register(client, alice, line, relative)
    assert response.status_code == 409
    assert "symbolic link, adapter_config.json" in response.json()["error"]
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize("link", ["extra/secrets", "notes.txt"])
def test_any_link_in_the_folder_is_refused_even_one_inside_the_data_root(alice, link):
    line = make_line()
    relative = write_fake_adapter("outside/linked")
    folder = Path(settings.DATA_DIR) / relative
    target = Path(settings.DATA_DIR) / "elsewhere"
    target.mkdir()
    (target / "file").write_text("data")
    (folder / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target if "/" in link else target / "file", folder / link)
    with pytest.raises(AdapterError, match=f"symbolic link, {link}"):
        services.register_adapter_version(line, relative, alice)
    assert not ModelVersion.objects.exists()


def test_a_plain_adapter_folder_still_registers(alice):
    line = make_line()
    version = services.register_adapter_version(line, write_fake_adapter("outside/plain"), alice)
    assert set(version.adapter_files) == {"adapter_config.json", "adapter_model.safetensors", "academy_adapter.json"}


def test_a_file_swapped_for_a_link_after_registration_fails_verification(alice):
    line = make_line()
    version = services.register_adapter_version(line, write_fake_adapter("outside/swapped"), alice)
    weights = Path(settings.DATA_DIR) / version.adapter_dir / "adapter_model.safetensors"
    copy = weights.with_name("copy")
    copy.write_bytes(weights.read_bytes())
    weights.unlink()
    weights.symlink_to(copy)  # the same bytes: only the link check can notice
    with pytest.raises(AdapterError, match="replaced by a symbolic link"):
        verify(version.adapter_dir, version.adapter_files)
