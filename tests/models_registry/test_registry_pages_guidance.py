"""Registry pages that explain themselves: compare defaults and limits, rollback choices, archived actions."""

import pytest

from models_registry import services
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(alice):
    line = make_line()
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    services.promote_version(v2, alice, "second")
    make_version(line, metrics={"training": {"train_loss": 0.123456789012345}, "eval": {}, "arena": {}})
    return line


def test_compare_opens_on_the_active_version_against_the_newest(client, line, viewer):
    client.force_login(viewer)
    html = client.get("/models/venom-coder/compare/").content.decode()
    a = html.split('name="a"')[1].split("</select>")[0]
    b = html.split('name="b"')[1].split("</select>")[0]
    assert "<option selected>v2</option>" in a and "<option selected>v3</option>" in b


def test_compare_refuses_a_version_against_itself(client, line, viewer):
    client.force_login(viewer)
    html = client.get("/models/venom-coder/compare/?a=v2&b=v2").content.decode()
    assert 'id="compare-errors"' in html and "Choose two different versions" in html


def test_compare_shows_metrics_rounded(client, line, viewer):
    client.force_login(viewer)
    html = client.get("/models/venom-coder/compare/?a=v1&b=v3").content.decode()
    assert "0.1235" in html and "0.123456789012345" not in html


def test_the_rollback_target_is_a_choice_of_archived_versions(client, line, alice):
    client.force_login(alice)
    html = client.get("/models/venom-coder/rollback/").content.decode()
    assert '<select name="to"' in html and '<option value="v1">v1 · created' in html
    assert 'value="v3"' not in html  # a candidate was never active
    response = client.post("/models/venom-coder/rollback/", {"to": "v3", "reason": "x"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = client.post("/models/venom-coder/rollback/", {"to": "v1", "reason": "bad answers"})
    assert response.status_code == 302 and line.active_version().label == "v1"


def test_the_line_page_explains_promote_and_roll_back_on_archived_versions(client, line, alice):
    client.force_login(alice)
    html = client.get("/models/venom-coder/").content.decode()
    assert 'id="archived-actions"' in html and "history records a rollback" in html

