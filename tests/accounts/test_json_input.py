"""Every JSON body is read by one set of rules: huge integers, NaN/Infinity, overflowing numbers
and deep nesting are refused with a 400 that names the problem, on every API that reads JSON."""

import json

import pytest

from accounts.api import JSONRefused, strict_loads
from curation.models import Lesson
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db

HUGE_INT = "9" * 5000
DEEP_METADATA = '{"situation": "s", "action": "a", "metadata": ' + '{"a": ' * 900 + "1" + "}" * 900 + "}"


@pytest.mark.parametrize("text, named", [
    (HUGE_INT, "5000 digits"), ("[NaN]", "NaN"), ('{"a": -Infinity}', "-Infinity"), ("[1e999]", "1e999"),
    ("[" * 40 + "]" * 40, "nested too deeply"), ("[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_strict_loads_refuses_what_json_loads_would_take_or_crash_on(text, named):
    with pytest.raises(JSONRefused, match=named):
        strict_loads(text)


def test_strict_loads_keeps_ordinary_numbers():
    assert strict_loads('{"seed": -9223372036854775808, "t": 0.7, "big": 1e300}') == {
        "seed": -(2**63), "t": 0.7, "big": 1e300}


def _post(client, url, body: str, token: str):
    return client.post(url, body, content_type="application/json", **bearer(token))


def test_a_5000_digit_integer_is_a_400_on_the_openai_endpoint(client, viewer):
    response = _post(client, "/v1/chat/completions",
                     '{"model": "x", "messages": [{"role": "user", "content": "hi"}], "seed": ' + HUGE_INT + "}",
                     make_token(viewer, "Viewer"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "5000 digits" in error["message"]
    assert error["message"].startswith("malformed JSON: ") and "'field'" not in error["message"]  # words only


def test_a_5000_digit_integer_is_a_400_on_the_professor_ask_api(client, viewer):
    response = _post(client, "/api/v1/professor/ask", '{"words": ' + HUGE_INT + "}", make_token(viewer, "Viewer"))
    assert response.status_code == 400 and "5000 digits" in response.json()["details"][0]["message"]


def test_a_5000_digit_integer_is_a_400_on_the_runs_api(client, bob):
    response = _post(client, "/api/v1/runs", '{"dataset": ' + HUGE_INT + "}", make_token(bob, "Operator"))
    assert response.status_code == 400 and "5000 digits" in json.dumps(response.json())


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_lesson_with_nan_or_infinity_is_a_400_and_nothing_is_stored(client, bob, constant):
    body = '{"situation": "s", "action": "a", "metadata": {"score": ' + constant + "}}"
    response = _post(client, "/api/v1/lessons", body, make_token(bob, "Operator"))
    assert response.status_code == 400, response.content
    assert constant in json.dumps(response.json()) and not Lesson.objects.exists()


def test_a_task_line_with_nan_names_its_jsonl_line(client, bob):
    ok = {"task_id": "t", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    body = json.dumps(ok) + "\n" + json.dumps(ok).replace('"t"', '"u"').replace("}", ', "metadata": {"x": NaN}}', 1)
    response = _post(client, "/api/v1/tasks", body, make_token(bob, "Operator"))
    assert response.status_code == 400 and "line 2: NaN" in json.dumps(response.json())


@pytest.mark.parametrize("depth", [900, 5000])
def test_deeply_nested_lesson_metadata_is_a_400(client, bob, depth):
    body = '{"situation": "s", "action": "a", "metadata": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    response = _post(client, "/api/v1/lessons", body, make_token(bob, "Operator"))
    assert response.status_code == 400 and "nested too deeply" in json.dumps(response.json())
    assert not Lesson.objects.exists()


def test_decoded_lesson_metadata_nested_too_deep_is_refused_without_recursion():
    from curation.services.ingest import PayloadError, ingest_lessons

    metadata: dict = {}
    for _ in range(5000):
        metadata = {"a": metadata}
    with pytest.raises(PayloadError) as caught:
        ingest_lessons([{"situation": "s", "action": "a", "metadata": metadata}])
    assert "nested too deeply" in "; ".join(caught.value.details) and not Lesson.objects.exists()


def test_a_row_the_database_silently_refuses_is_not_reported_as_created(monkeypatch):
    """ignore_conflicts hides rows refused for reasons other than a duplicate: the batch is refused instead."""
    from curation.services import ingest

    monkeypatch.setattr(type(Lesson.objects), "bulk_create", lambda self, objs, **kw: [])
    with pytest.raises(ingest.PayloadError, match="could not be stored"):
        ingest.ingest_lessons([{"situation": "s", "action": "a"}])
    assert not Lesson.objects.exists()


def test_decoded_lesson_metadata_with_nan_is_refused_by_validation():
    from curation.services.ingest import PayloadError, ingest_lessons

    with pytest.raises(PayloadError) as caught:
        ingest_lessons([{"situation": "s", "action": "a", "metadata": {"x": [float("nan")]}}])
    assert "NaN" in "; ".join(caught.value.details) and not Lesson.objects.exists()
