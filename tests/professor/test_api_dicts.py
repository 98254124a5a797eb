"""The Professor's suggestion endpoint answers parameters.suggestion_dict(): {dataset, parameters}."""

import pytest

from professor.parameters import suggest_parameters, suggestion_dict
from tests.factories import bearer, make_token
from tests.training.factories import make_snapshot

pytestmark = pytest.mark.django_db


def test_a_suggestion_is_answered_as_its_dict(client, viewer):
    snapshot = make_snapshot()
    body = client.get(f"/api/v1/professor/suggest?dataset={snapshot.sha256[:8]}",
                      **bearer(make_token(viewer, "Viewer"))).json()
    assert body == suggestion_dict(snapshot, suggest_parameters(snapshot))
    assert body["dataset"] == snapshot.sha256
    assert all(set(entry) == {"value", "reason"} for entry in body["parameters"].values())
    assert body["parameters"]["batch_size"]["reason"]
