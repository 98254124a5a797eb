"""The Professor's JSON API: cycles (start, busy, list, detail) and parameter suggestions."""

import pytest

from professor.models import Cycle
from tests.factories import bearer, make_token
from tests.training.factories import make_snapshot

pytestmark = pytest.mark.django_db


def test_an_operator_starts_a_cycle_and_a_second_start_is_a_conflict(client, bob):
    auth = bearer(make_token(bob, "Operator"))
    first = client.post("/api/v1/professor/cycles", {}, content_type="application/json", **auth)
    assert first.status_code == 202 and first.json()["status"] == "queued" and first.json()["trigger"] == "api"
    second = client.post("/api/v1/professor/cycles", {}, content_type="application/json", **auth)
    assert second.status_code == 409
    assert second.json()["error"].startswith("a cycle is already queued since ")
    assert second.json()["details"] == [{"field": None, "message": second.json()["error"],
                                          "cycle": first.json()["id"]}]
    assert Cycle.objects.count() == 1


def test_a_viewer_may_read_cycles_but_not_start_one(client, viewer):
    auth = bearer(make_token(viewer, "Viewer"))
    assert client.post("/api/v1/professor/cycles", {}, content_type="application/json", **auth).status_code == 403
    assert client.get("/api/v1/professor/cycles", **auth).json() == {"cycles": []}


def test_an_admins_viewer_token_may_not_start_a_cycle(client, alice):
    """The token's role decides, not its owner's: the service refuses and nothing is created."""
    auth = bearer(make_token(alice, "Viewer"))
    refused = client.post("/api/v1/professor/cycles", {}, content_type="application/json", **auth)
    assert refused.status_code == 403 and "Operator role" in refused.json()["error"]
    assert not Cycle.objects.exists()


def test_a_cycle_is_returned_with_its_journal(client, viewer):
    from professor import journal
    from professor.cycle import start_cycle

    cycle = start_cycle(None, queue=False)
    journal.write(cycle.pk, "memory", "skipped", "no lesson store at /x/lessons.json")
    body = client.get(f"/api/v1/professor/cycles/{cycle.pk}", **bearer(make_token(viewer, "Viewer"))).json()
    assert body["id"] == cycle.pk and body["journal"][0]["message"] == "no lesson store at /x/lessons.json"
    assert client.get("/api/v1/professor/cycles/9999", **bearer(make_token(viewer, "Viewer"))).status_code == 404


def test_suggested_settings_for_a_dataset_come_with_reasons(client, viewer, settings):
    settings.DEFAULT_BASE_MODEL = "org/some-model"
    snapshot = make_snapshot(rows=12)
    body = client.get(f"/api/v1/professor/suggest?dataset={snapshot.sha256[:8]}",
                      **bearer(make_token(viewer, "Viewer"))).json()
    assert body["parameters"]["batch_size"] == {"value": 2, "reason": "12 examples: under 100 band -> batch 2"}


def test_the_professor_page_starts_a_cycle_for_an_operator(client, bob, viewer):
    client.force_login(viewer)
    assert client.post("/professor/cycles/start").status_code == 403
    client.force_login(bob)
    response = client.post("/professor/cycles/start")
    cycle = Cycle.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/professor/cycles/{cycle.pk}/"
    assert cycle.trigger == "web"
