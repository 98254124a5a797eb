"""The registry API answers with each object's own to_dict(): the same keys as before, and pages at get_absolute_url."""

import pytest

from models_registry import services
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db

VERSION_KEYS = {"line", "label", "id", "status", "parent", "base_model", "adapter_dir", "training_run", "dataset",
                "metrics", "arena", "created_at"}
ACTIVATION_KEYS = {"kind", "from", "to", "reason", "arena", "policy_overridden", "canary", "note", "by", "at"}
ACTIVE_KEYS = {"line", "version", "version_id", "base_model", "adapter", "prompt", "activated_at"}


def test_the_genealogy_is_made_of_the_line_version_and_activation_dicts(client, alice):
    line = make_line()
    v1 = make_version(line, metrics={"training": {"train_loss": 1.0}, "arena": {"decision": "promote"}})
    activation = services.promote_version(v1, alice, "first")
    tree = client.get(f"/api/v1/lines/{line.name}/genealogy", **bearer(make_token(alice, "Admin"))).json()
    v1.refresh_from_db()
    assert tree == {**line.to_dict(), "versions": [v1.to_dict()], "activations": [activation.to_dict()]}
    assert set(tree) == {"line", "base_model", "active", "versions", "activations"} and tree["active"] == "v1"
    assert set(tree["versions"][0]) == VERSION_KEYS and "arena" not in tree["versions"][0]["metrics"]
    assert tree["versions"][0]["arena"] == {"decision": "promote", "against": None, "reasons": []}
    assert set(tree["activations"][0]) == ACTIVATION_KEYS and tree["activations"][0]["by"] == alice.username


def test_the_active_endpoint_answers_the_versions_active_dict(client, alice, viewer):
    line = make_line()
    version = make_version(line)
    services.promote_version(version, alice, "first")
    body = client.get(f"/api/v1/lines/{line.name}/active", **bearer(make_token(viewer, "Viewer"))).json()
    assert body == {**version.active_dict(), "canary": None} and set(body) == ACTIVE_KEYS | {"canary"}
    assert body["adapter"]["sha256"] == version.adapter_files["adapter_model.safetensors"]


def test_lines_versions_and_activations_link_to_their_pages(client, alice):
    line = make_line()
    version = make_version(line)
    activation = services.promote_version(version, alice, "first")
    client.force_login(alice)
    assert line.get_absolute_url() == f"/models/{line.name}/" == activation.get_absolute_url()
    assert version.get_absolute_url() == f"/models/{line.name}/{version.label}/"
    for url in (line.get_absolute_url(), version.get_absolute_url()):
        assert client.get(url).status_code == 200
