"""Changing an exam takes the Admin role on every path (page, API, Django admin), since an exam's
python checks are code that evaluations run; the admin checks every item as an import does."""

import html
import json

import pytest
from django.core.exceptions import PermissionDenied

from arena import services
from arena.models import Exam, ExamItem
from tests.arena.factories import make_exam
from tests.factories import bearer, make_token, make_user
from tests.models_registry.factories import make_line

pytestmark = pytest.mark.django_db

PYTHON_ITEM = {"id": "py", "prompt": "p", "reference": "r",
               "check": {"type": "python", "test": "import os; os.system('id')"}}


@pytest.fixture
def oscar(db):
    """An Operator who is also staff, so the admin site lets them in."""
    return make_user("oscar", "Operator", is_staff=True)


def test_the_service_gate_refuses_operators_and_lets_admins_through(alice, bob):
    with pytest.raises(PermissionDenied, match="Admin role"):
        services.check_exam_edit(bob, [PYTHON_ITEM])
    with pytest.raises(PermissionDenied):
        services.check_exam_edit(None)
    assert services.check_exam_edit(alice, [PYTHON_ITEM])[0]["check"]["type"] == "python"
    with pytest.raises(PermissionDenied):
        services.import_exam([json.dumps(PYTHON_ITEM)], make_line(), user=bob)


def test_an_operator_gets_403_on_the_exam_page_and_sees_no_edit_form(client, bob):
    line = make_line()
    make_exam(line)
    client.force_login(bob)
    response = client.post(f"/arena/{line.name}/exam/", {"jsonl": json.dumps(PYTHON_ITEM)})
    assert response.status_code == 403 and Exam.objects.filter(line=line).count() == 1
    page = client.get(f"/arena/{line.name}/exam/").content.decode()
    assert "Save as a new version" not in page and "Only an Admin can change this exam" in page


def test_an_admin_saves_an_exam_with_a_python_check_on_the_page(client, alice):
    line = make_line()
    make_exam(line)
    client.force_login(alice)
    assert "Save as a new version" in client.get(f"/arena/{line.name}/exam/").content.decode()
    response = client.post(f"/arena/{line.name}/exam/", {"jsonl": json.dumps(PYTHON_ITEM)})
    assert response.status_code == 302
    latest = Exam.objects.filter(line=line).order_by("-version").first()
    assert latest.version == 2 and latest.items.get().check_spec["type"] == "python" and latest.created_by == alice


def test_the_exam_api_reads_for_viewers_and_writes_for_admins_only(client, alice, bob, viewer):
    line = make_line()
    make_exam(line)
    url = f"/api/v1/lines/{line.name}/exam"
    read = client.get(url, **bearer(make_token(viewer, "Viewer")))
    assert read.status_code == 200 and read.json()["version"] == 1 and len(read.json()["items"]) == 6
    body = json.dumps({"jsonl": json.dumps(PYTHON_ITEM)})
    for token in (make_token(bob, "Operator"), make_token(alice, "Operator", "admin-with-operator-token")):
        refused = client.post(url, body, content_type="application/json", **bearer(token))
        assert refused.status_code == 403 and "Admin role" in refused.json()["error"]
    assert Exam.objects.filter(line=line).count() == 1
    saved = client.post(url, body, content_type="application/json", **bearer(make_token(alice, "Admin")))
    assert saved.status_code == 201 and saved.json()["version"] == 2 and saved.json()["created"]
    bad = client.post(url, json.dumps({"jsonl": json.dumps({**PYTHON_ITEM, "check": {"type": "python", "test": "x",
                                                                                    "timeout": 10000}})}),
                      content_type="application/json", **bearer(make_token(alice, "Admin", "again")))
    assert bad.status_code == 400 and "timeout" in bad.json()["details"][0]
    assert Exam.objects.filter(line=line).count() == 2


def _admin_form(exam, **changes) -> dict:
    """The admin change form of `exam` as the browser posts it, with item 0's fields changed."""
    items = list(exam.items.all())
    data = {"items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": str(len(items)),
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000"}
    for i, item in enumerate(items):
        fields = {"id": str(item.pk), "exam": str(exam.pk), "position": str(item.position), "item_id": item.item_id,
                  "category": item.category, "prompt": json.dumps(item.prompt), "reference": item.reference,
                  "check_spec": json.dumps(item.check_spec) if item.check_spec else ""}
        if i == 0:
            fields.update(changes)
        data.update({f"items-{i}-{key}": value for key, value in fields.items()})
    return data


def test_an_operator_cannot_change_an_exam_item_in_the_admin(client, oscar):
    exam = make_exam(make_line(), count=2)
    client.force_login(oscar)
    url = f"/admin/arena/exam/{exam.pk}/change/"
    response = client.post(url, _admin_form(exam, check_spec=json.dumps({"type": "python", "test": "pass"})))
    assert response.status_code == 403
    assert ExamItem.objects.get(exam=exam, position=0).check_spec == {"type": "contains", "value": "ls"}


def test_an_admin_changes_an_exam_item_in_the_admin_and_the_exam_hash_follows(client, alice):
    exam = make_exam(make_line(), count=2)
    before = exam.content_sha256
    client.force_login(alice)
    url = f"/admin/arena/exam/{exam.pk}/change/"
    check = {"type": "python", "test": "assert 'ls' in answer", "timeout": 5}
    response = client.post(url, _admin_form(exam, check_spec=json.dumps(check), category="  shell  "))
    assert response.status_code == 302, response.content.decode()[-3000:]
    item = ExamItem.objects.get(exam=exam, position=0)
    assert item.check_spec == check and item.category == "shell"
    exam.refresh_from_db()
    assert exam.content_sha256 != before


@pytest.mark.parametrize("check, message", [
    ({"type": "shell", "command": "id"}, "'check.type' must be one of"),
    ({"type": "python", "test": "assert True", "timeout": 10000}, "'check.timeout' must be a number of seconds"),
    ({"type": "python", "test": "def broken(:"}, "'check.test' is not valid Python"),
])
def test_an_admin_edit_with_an_invalid_check_is_refused_and_changes_nothing(client, alice, check, message):
    exam = make_exam(make_line(), count=2)
    before = exam.content_sha256
    client.force_login(alice)
    response = client.post(f"/admin/arena/exam/{exam.pk}/change/",
                           _admin_form(exam, check_spec=json.dumps(check), reference="changed"))
    assert response.status_code == 200 and message in html.unescape(response.content.decode())
    item = ExamItem.objects.get(exam=exam, position=0)
    assert item.check_spec == {"type": "contains", "value": "ls"} and item.reference != "changed"
    exam.refresh_from_db()
    assert exam.content_sha256 == before


def test_the_import_command_still_runs_as_the_system_and_still_checks_every_item(tmp_path):
    from django.core.management import CommandError, call_command

    line = make_line()
    path = tmp_path / "exam.jsonl"
    path.write_text(json.dumps({**PYTHON_ITEM, "check": {"type": "python", "test": "x", "timeout": 10000}}) + "\n")
    with pytest.raises(CommandError, match="timeout"):
        call_command("import_exam", str(path), "--line", line.name)
    path.write_text(json.dumps(PYTHON_ITEM) + "\n")
    call_command("import_exam", str(path), "--line", line.name)
    assert line.exams.get().items.get().check_spec["type"] == "python"


@pytest.mark.parametrize("value, named", [("9" * 5000, "5000 digits"), ("NaN", "NaN")])
def test_an_exam_line_with_a_huge_integer_or_nan_is_named_and_nothing_is_saved(client, alice, value, named):
    line = make_line()
    jsonl = json.dumps(PYTHON_ITEM) + "\n" + '{"id": ' + value + ', "prompt": "p", "reference": "r"}'
    response = client.post(f"/api/v1/lines/{line.name}/exam", json.dumps({"jsonl": jsonl}),
                           content_type="application/json", **bearer(make_token(alice, "Admin")))
    assert response.status_code == 400 and response.json()["details"][0].startswith("line 2: ")
    assert named in response.json()["details"][0] and not Exam.objects.filter(line=line).exists()


@pytest.mark.parametrize("body, field", [({}, "jsonl"), ({"jsonl": 5}, "jsonl"), ({"jsonl": "", "extra": 1}, "extra")])
def test_an_exam_body_of_the_wrong_shape_names_the_field_and_nothing_is_saved(client, alice, body, field):
    line = make_line()
    response = client.post(f"/api/v1/lines/{line.name}/exam", json.dumps(body), content_type="application/json",
                           **bearer(make_token(alice, "Admin")))
    assert response.status_code == 400 and response.json()["error"].startswith("invalid exam: ")
    assert response.json()["details"][0]["field"] == field and not Exam.objects.filter(line=line).exists()
