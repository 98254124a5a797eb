"""The Arena API answers with Evaluation.to_dict() (page and socket included) and results.comparison_dict()."""

import pytest

from arena import results
from tests.arena.factories import make_evaluation
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db

EVALUATION_KEYS = {"line", "candidate", "against", "exam_version", "holdout_version", "decision", "applied",
                   "verdict", "url", "websocket"}


def test_an_evaluation_dict_names_its_page_and_socket(client, viewer):
    evaluation = make_evaluation(make_version(make_line()), decision="hold")
    body = client.get(f"/api/v1/evaluations/{evaluation.pk}", **bearer(make_token(viewer, "Viewer"))).json()
    assert body == evaluation.to_dict() and EVALUATION_KEYS <= set(body)
    assert body["url"] == evaluation.get_absolute_url() == f"/arena/evaluations/{evaluation.pk}/"
    assert body["websocket"] == evaluation.socket_path == f"/ws/jobs/evaluation/{evaluation.pk}/"
    client.force_login(viewer)
    assert client.get(evaluation.get_absolute_url()).status_code == 200


def test_the_compare_endpoint_answers_the_comparison_dict(client, viewer):
    line = make_line()
    a, b = make_version(line), make_version(line)
    make_evaluation(b, against=a, decision="promote")
    body = client.get(f"/api/v1/lines/{line.name}/compare?a={a.label}&b={b.label}",
                      **bearer(make_token(viewer, "Viewer"))).json()
    assert body == results.comparison_dict(line, a, b)
    assert set(body) == {"line", "a", "b", "metrics", "dataset", "arena"} and body["arena"]["same_evaluation"]
