"""Arena pages and JSON API: evaluate from the version page or the API, see results, carry verdicts out."""

import json

import pytest

from arena.models import Evaluation, EvaluationItem, Exam
from models_registry import services as registry
from models_registry.models import VersionStatus
from tests.arena.factories import make_evaluation, make_exam
from tests.factories import bearer, make_token
from tests.models_registry.factories import make_line, make_version, write_fake_adapter

pytestmark = pytest.mark.django_db


def _post_json(client, url, body, token):
    return client.post(url, json.dumps(body), content_type="application/json", **bearer(token))


def test_the_version_page_offers_evaluate_to_operators_and_shows_the_verdict(client, bob, viewer):
    line = make_line()
    version = make_version(line)
    evaluation = make_evaluation(version, decision="hold")
    EvaluationItem.objects.create(evaluation=evaluation, kind="exam", key="q1", category="shell", messages=[],
                                  reference="ls", candidate_loss=1.0, against_loss=2.0)
    evaluation.verdict["categories"] = {"shell": {"n": 1, "candidate_loss": 1.0, "against_loss": 2.0,
                                                  "difference": {"mean": 1.0, "low": 1.0, "high": 1.0}}}
    evaluation.save()
    evaluation.verdict["evaluation"] = evaluation.pk
    evaluation.save()
    version.metrics["arena"] = evaluation.verdict
    version.save()
    client.force_login(bob)
    page = client.get(f"/models/{line.name}/{version.label}/").content.decode()
    assert 'action="/arena/venom-coder/v1/evaluate/"' in page and "planted hold" in page
    assert "Each question" in page and "arena-version-chart" in page
    client.force_login(viewer)
    page = client.get(f"/models/{line.name}/{version.label}/").content.decode()
    assert "Evaluate</button>" not in page and "planted hold" in page


def test_an_operator_starts_an_evaluation_from_the_page_and_follows_it_live(client, bob, carol):
    line = make_line()
    version = make_version(line)
    client.force_login(carol)
    assert client.post(f"/arena/{line.name}/{version.label}/evaluate/").status_code == 403
    client.force_login(bob)
    response = client.post(f"/arena/{line.name}/{version.label}/evaluate/", {"against": "base"})
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/arena/evaluations/{evaluation.pk}/"
    assert evaluation.against is None and evaluation.status == "queued" and evaluation.exam.version == 1
    page = client.get(response["Location"]).content.decode()
    assert f'data-job-socket="/ws/jobs/evaluation/{evaluation.pk}/"' in page


def test_the_api_starts_an_evaluation_for_operators_only(client, bob, viewer):
    line = make_line()
    active = make_version(line, status=VersionStatus.ACTIVE)
    candidate = make_version(line)
    url = f"/api/v1/lines/{line.name}/versions/{candidate.label}/evaluate"
    assert _post_json(client, url, {}, make_token(viewer, "Viewer")).status_code == 403
    response = _post_json(client, url, {}, make_token(bob, "Operator"))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["candidate"] == candidate.label and body["against"] == active.label and body["status"] == "queued"
    assert client.get(f"/api/v1/evaluations/{body['id']}", **bearer(make_token(viewer, "Viewer"))).json()[
        "id"] == body["id"]
    bad = _post_json(client, url, {"against": candidate.label}, make_token(bob, "Operator", "again"))
    assert bad.status_code == 400 and "compared against" in bad.json()["error"]


def test_only_an_admin_applies_a_verdict_through_the_api(client, alice, bob):
    line = make_line()
    evaluation = make_evaluation(make_version(line))
    url = f"/api/v1/evaluations/{evaluation.pk}/apply"
    assert _post_json(client, url, {}, make_token(bob, "Operator")).status_code == 403
    response = _post_json(client, url, {}, make_token(alice, "Admin"))
    assert response.status_code == 200 and response.json()["applied"] == "promoted"
    assert _post_json(client, url, {}, make_token(alice, "Admin", "again")).status_code == 409


def test_compare_shows_categories_side_by_side_and_each_questions_answers(client, viewer):
    line = make_line()
    a, b = make_version(line, status=VersionStatus.ACTIVE), make_version(line)
    evaluation = make_evaluation(b, against=a, decision="promote")
    evaluation.verdict["categories"] = {"shell": {"n": 1, "candidate_loss": 0.5, "against_loss": 1.5,
                                                  "difference": {"mean": 1.0, "low": 1.0, "high": 1.0}}}
    evaluation.verdict["exam"] = {"version": 1, "items": 1}
    evaluation.save()
    EvaluationItem.objects.create(evaluation=evaluation, kind="exam", key="q1", category="shell",
                                  messages=[{"role": "user", "content": "List files?"}], reference="ls",
                                  candidate_loss=0.5, against_loss=1.5, candidate_answer="use ls",
                                  against_answer="cat everything")
    client.force_login(viewer)
    page = client.get(f"/models/{line.name}/compare/?a={a.label}&b={b.label}").content.decode()
    assert "arena-compare-chart" in page and "cat everything" in page and "use ls" in page
    api = client.get(f"/api/v1/lines/{line.name}/compare?a={a.label}&b={b.label}").json()
    assert api["arena"]["same_evaluation"] and api["arena"]["categories"][0]["name"] == "shell"
    assert api["arena"]["questions"][0]["candidate_answer"] == "use ls"


def test_the_exam_page_saves_edits_as_a_new_version_and_names_bad_lines(client, alice, viewer):
    line = make_line()
    make_exam(line)
    client.force_login(viewer)
    assert client.post(f"/arena/{line.name}/exam/", {"jsonl": "{}"}).status_code == 403
    client.force_login(alice)
    bad = client.post(f"/arena/{line.name}/exam/", {"jsonl": '{"id": "x", "prompt": "p", "reference": "r"}\nnope'})
    assert "line 2: not valid JSON" in bad.content.decode()
    assert Exam.objects.filter(line=line).count() == 1
    good = client.post(f"/arena/{line.name}/exam/", {"jsonl": '{"id": "x", "prompt": "p", "reference": "r"}'})
    assert good.status_code == 302 and Exam.objects.filter(line=line).count() == 2


def test_the_registry_api_promotes_with_override_rolls_back_and_lists_the_genealogy(client, alice, bob):
    line = make_line()
    v1 = make_version(line)
    make_evaluation(v1, decision="hold")
    admin = make_token(alice, "Admin")
    url = f"/api/v1/lines/{line.name}/versions/v1/promote"
    assert _post_json(client, url, {"reason": "x"}, make_token(bob, "Operator")).status_code == 403
    refused = _post_json(client, url, {}, admin)
    assert refused.status_code == 409 and "override" in refused.json()["error"]
    done = _post_json(client, url, {"reason": "needed for the demo"}, make_token(alice, "Admin", "b"))
    assert done.status_code == 200 and done.json()["activation"]["policy_overridden"] is True
    v2 = make_version(line)
    _post_json(client, f"/api/v1/lines/{line.name}/versions/v2/promote", {"reason": "newer"},
               make_token(alice, "Admin", "c"))
    back = _post_json(client, f"/api/v1/lines/{line.name}/rollback", {"reason": "bad answers"},
                      make_token(alice, "Admin", "d"))
    assert back.status_code == 200 and back.json()["activation"]["to"] == "v1"
    tree = client.get(f"/api/v1/lines/{line.name}/genealogy", **bearer(admin)).json()
    assert [v["label"] for v in tree["versions"]] == ["v1", "v2"] and tree["active"] == "v1"
    assert tree["versions"][1]["parent"] is None or tree["versions"][1]["parent"] == "v1"
    assert tree["versions"][0]["arena"]["decision"] == "hold" and v2.pk


def test_an_adapter_made_elsewhere_is_registered_after_the_same_checks(client, alice):
    line = make_line()
    write_fake_adapter("imports/outside/adapter", base_model=line.base_model)
    write_fake_adapter("imports/wrong/adapter", base_model="other/base")
    admin = make_token(alice, "Admin")
    url = f"/api/v1/lines/{line.name}/versions"
    created = _post_json(client, url, {"adapter_dir": "imports/outside/adapter", "notes": "from the lab"}, admin)
    assert created.status_code == 201, created.content
    version = line.versions.get()
    assert version.status == "candidate" and "adapter_model.safetensors" in version.adapter_files
    assert _post_json(client, url, {"adapter_dir": "imports/outside/adapter"}, admin).status_code == 409
    wrong = _post_json(client, url, {"adapter_dir": "imports/wrong/adapter"}, admin)
    assert wrong.status_code == 409 and "other/base" in wrong.json()["error"]
    outside = _post_json(client, url, {"adapter_dir": "../../etc"}, admin)
    assert outside.status_code == 409 and "outside the data root" in outside.json()["error"]


def _finished_with_answers(line, *, candidate_answer, against_answer="ok", passed=None):
    active = make_version(line, status=VersionStatus.ACTIVE)
    candidate = make_version(line)
    evaluation = make_evaluation(candidate, against=active, decision="promote")
    EvaluationItem.objects.create(evaluation=evaluation, kind="exam", key="q1", category="shell",
                                  messages=[{"role": "user", "content": "List files?"}], reference="ls",
                                  candidate_loss=0.5, against_loss=1.5, candidate_answer=candidate_answer,
                                  against_answer=against_answer, candidate_passed=passed, against_passed=passed)
    return active, candidate, evaluation


def test_a_finished_evaluation_shows_the_verdict_first_with_answers_collapsed_and_no_reload_link(client, viewer):
    line = make_line()
    padded = "first line\n\n\n\n\n   \n\nsecond line" + " " * 300 + "\nthird\nfourth line hidden until opened\n\n\n\n"
    _, _, evaluation = _finished_with_answers(line, candidate_answer=padded)
    client.force_login(viewer)
    page = client.get(f"/arena/evaluations/{evaluation.pk}/").content.decode()
    assert "Reload" not in page
    assert page.index("planted promote") < page.index("Each question")
    details = page[page.index("<details class=\"arena-text\">"):]
    summary = details[:details.index("</summary>")]
    assert "first line\nsecond line\nthird" in summary and "fourth line" not in summary
    assert "first line\n\nsecond line\nthird\nfourth line hidden until opened</pre></details>" in details


def test_the_verdict_section_endpoint_needs_the_page_permission(client, viewer, dave):
    line = make_line()
    _, _, evaluation = _finished_with_answers(line, candidate_answer="use ls")
    url = f"/arena/evaluations/{evaluation.pk}/results/"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(dave)
    assert client.get(url).status_code == 403
    client.force_login(viewer)
    section = client.get(url).content.decode()
    assert "planted promote" in section and "use ls" in section and "<html" not in section
    assert client.post(url).status_code == 405
    assert client.get("/arena/evaluations/999999/results/").status_code == 404


def test_a_running_evaluation_page_waits_for_its_verdict_over_the_job_socket(client, viewer):
    line = make_line()
    evaluation = Evaluation.objects.create(line=line, candidate=make_version(line), exam=make_exam(line),
                                           status="running")
    client.force_login(viewer)
    page = client.get(f"/arena/evaluations/{evaluation.pk}/").content.decode()
    assert f'data-results-url="/arena/evaluations/{evaluation.pk}/results/"' in page
    assert "js/arena_evaluation.js" in page and "Reload" not in page and "arena-reasons" not in page
    assert "arena-reasons" not in client.get(f"/arena/evaluations/{evaluation.pk}/results/").content.decode()


def test_checks_no_model_passed_are_called_out_next_to_the_numbers(client, viewer):
    line = make_line()
    _, _, evaluation = _finished_with_answers(line, candidate_answer="nope", passed=False)
    reason = ("the checks cannot tell the models apart: neither v2 nor v1 passed any of the 6 checks, "
              "so the reference loss decides alone")
    evaluation.verdict["reasons"].append(reason)
    evaluation.verdict["metrics"].update({"checked": 6, "passes": 0})
    evaluation.verdict["categories"] = {"shell": {"n": 6, "candidate_loss": 0.5, "against_loss": 1.5,
                                                  "candidate_pass_rate": 0.0, "against_pass_rate": 0.0,
                                                  "difference": {"mean": 1.0, "low": 0.5, "high": 1.5}}}
    evaluation.save()
    client.force_login(viewer)
    page = client.get(f"/arena/evaluations/{evaluation.pk}/").content.decode()
    note = page.index("The checks could not tell the models apart.")
    assert note < page.index("arena-reasons") < page.index("arena-categories")
    assert "The checks cannot tell the models apart: neither v2 nor v1 passed any of the 6 checks" in page
    assert "(no check passed: says nothing)" in page


def test_carry_out_asks_for_a_confirmation_and_a_reason_before_promoting(client, alice, bob):
    line = make_line()
    active, candidate, evaluation = _finished_with_answers(line, candidate_answer="use ls")
    url = f"/arena/evaluations/{evaluation.pk}/apply/"
    client.force_login(bob)
    assert client.get(url).status_code == 403
    assert client.post(url, {"confirm": "yes", "reason": "x"}).status_code == 403
    client.force_login(alice)
    page = client.get(f"/arena/evaluations/{evaluation.pk}/").content.decode()
    assert f'action="{url}"' in page and 'method="get"' in page  # the button opens the confirmation page
    confirm = client.get(url).content.decode()
    assert "Yes, promote v2" in confirm and "promotion-warning" not in confirm and "planted promote" in confirm
    unconfirmed = client.post(url, {"reason": "looks right"})  # the old one-click form: answered with the page
    assert unconfirmed.status_code == 200 and "Yes, promote v2" in unconfirmed.content.decode()
    no_reason = client.post(url, {"confirm": "yes", "reason": " "})
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    candidate.refresh_from_db()
    assert candidate.status == VersionStatus.CANDIDATE and Evaluation.objects.get(pk=evaluation.pk).applied == ""
    done = client.post(url, {"confirm": "yes", "reason": "looks right"})
    assert done.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == VersionStatus.ACTIVE and Evaluation.objects.get(pk=evaluation.pk).applied == "promoted"
    assert candidate.activations.get().reason.endswith("; looks right")


def test_carry_out_warns_when_the_verdict_was_against_a_version_no_longer_active(client, alice):
    line = make_line()
    active, candidate, evaluation = _finished_with_answers(line, candidate_answer="use ls")
    registry.promote_version(make_version(line), alice, "moved on")
    client.force_login(alice)
    confirm = client.get(f"/arena/evaluations/{evaluation.pk}/apply/").content.decode()
    assert "promotion-warning" in confirm and "judged v2 against v1, which is no longer the active version" in confirm
    refused = client.post(f"/arena/evaluations/{evaluation.pk}/apply/", {"confirm": "yes", "reason": "x"},
                          follow=True)
    assert "the active version changed" in refused.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).applied == "" and line.active_version() != active


def test_the_admin_carry_out_action_confirms_first_with_the_stale_verdict_warning(client, alice):
    line = make_line()
    _, candidate, evaluation = _finished_with_answers(line, candidate_answer="use ls")
    registry.promote_version(make_version(line), alice, "moved on")
    client.force_login(alice)
    url = "/admin/arena/evaluation/"
    page = client.post(url, {"action": "apply_verdicts", "_selected_action": [evaluation.pk]}).content.decode()
    assert "Carry out these verdicts?" in page and "which is no longer the active version" in page
    assert Evaluation.objects.get(pk=evaluation.pk).applied == ""
    fresh = make_evaluation(make_version(line), against=line.active_version(), decision="promote")
    client.post(url, {"action": "apply_verdicts", "_selected_action": [fresh.pk], "post": "yes", "reason": "ok"})
    assert Evaluation.objects.get(pk=fresh.pk).applied == "promoted" and fresh.candidate.activations.exists()


def test_bad_bodies_on_the_evaluate_and_registry_api_name_the_field(client, alice, bob):
    line = make_line()
    version = make_version(line)
    evaluate = _post_json(client, f"/api/v1/lines/{line.name}/versions/{version.label}/evaluate", {"against": 3},
                          make_token(bob, "Operator"))
    assert evaluate.status_code == 400 and evaluate.json()["details"][0]["field"] == "against"
    assert not Evaluation.objects.exists()
    admin = make_token(alice, "Admin")
    cases = [(f"/api/v1/lines/{line.name}/versions/{version.label}/promote", {"reason": 1}, "reason"),
             (f"/api/v1/lines/{line.name}/rollback", {"to": ["v1"]}, "to"),
             (f"/api/v1/lines/{line.name}/rollback", {"reasons": "x"}, "reasons"),
             (f"/api/v1/lines/{line.name}/versions", {"notes": "no folder"}, "adapter_dir"),
             (f"/api/v1/lines/{line.name}/versions", {"adapter_dir": "  "}, "adapter_dir")]
    for url, body, field in cases:
        response = _post_json(client, url, body, admin)
        assert response.status_code == 400, (url, body, response.content)
        detail = response.json()["details"][0]
        assert detail["field"] == field and detail["message"].startswith(f"{field}: "), (url, body, detail)
    version.refresh_from_db()
    assert version.status == VersionStatus.CANDIDATE and line.versions.count() == 1


def test_a_failing_arena_panel_leaves_the_version_compare_and_overview_pages_up(client, viewer, monkeypatch, caplog):
    line = make_line()
    a, b = make_version(line), make_version(line)
    make_evaluation(b, decision="hold")

    def broken(*args, **kwargs):
        raise RuntimeError("the arena's tables are unreadable")

    monkeypatch.setattr("arena.results.latest_evaluation", broken)
    monkeypatch.setattr("arena.results.compare_payload", broken)
    client.force_login(viewer)
    version_page = client.get(f"/models/{line.name}/{b.label}/")
    assert version_page.status_code == 200 and b.label in version_page.content.decode()
    compare_page = client.get(f"/models/{line.name}/compare/?a={a.label}&b={b.label}")
    assert compare_page.status_code == 200
    assert [r for r in caplog.records if r.getMessage().startswith("page panel")], "the failure is logged"
    monkeypatch.setattr("arena.apps.ArenaConfig.overview_panel", broken, raising=False)
    assert client.get("/").status_code == 200
