import json

import pytest
from django.urls import reverse

from curation.models import DatasetBuild, DatasetSnapshot
from curation.services.datasets import run_build, start_build
from jobs.models import JobStatus
from tests.curation.factories import make_commit_example, make_lesson
from tests.factories import bearer, make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot():
    make_lesson()
    make_lesson()
    make_commit_example()
    build = run_build(start_build(None, name="pages", format="messages", queue=False).pk)
    assert build.status == JobStatus.SUCCEEDED, build.error
    return build.snapshot


def login(client, user):
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_login(client, snapshot):
    for url in (reverse("dataset_list"), reverse("dataset_detail", args=[snapshot.sha256]),
                reverse("dataset_download", args=[snapshot.sha256])):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_rejects_outsider(client, dave, snapshot):
    login(client, dave)
    assert client.get(reverse("dataset_list")).status_code == 403
    assert client.get(reverse("dataset_download", args=[snapshot.sha256])).status_code == 403


def test_every_role_sees_the_list_and_the_snapshot(client, viewer, carol, snapshot):
    for user in (viewer, carol):
        login(client, user)
        page = client.get(reverse("dataset_list")).content.decode()
        assert snapshot.short_hash in page and "New dataset build" not in page
        detail = client.get(reverse("dataset_detail", args=[snapshot.sha256])).content.decode()
        assert "vendor/plotly.min.js" in detail and "cdn" not in detail.lower()
        assert 'id="dataset-stats"' in detail


def test_the_snapshot_page_previews_the_first_rows_and_the_funnel(client, viewer, snapshot):
    login(client, viewer)
    response = client.get(reverse("dataset_detail", args=[snapshot.sha256]))
    assert len(response.context["rows"]) == 3
    assert response.context["rows"][0]["source"]["kind"] in ("commit", "lesson")
    assert "near_dedup" in response.content.decode()


def test_download_returns_the_exact_file(client, viewer, snapshot, settings):
    login(client, viewer)
    response = client.get(reverse("dataset_download", args=[snapshot.sha256]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (settings.DATA_DIR / snapshot.path).read_bytes()
    assert "attachment" in response["Content-Disposition"]


def test_unknown_hashes_are_404(client, viewer):
    login(client, viewer)
    assert client.get(reverse("dataset_download", args=["0" * 64])).status_code == 404
    assert client.get("/datasets/..%2F..%2Fetc%2Fpasswd/download").status_code == 404


def test_a_tampered_path_column_is_never_followed(client, viewer, snapshot, settings):
    DatasetSnapshot.objects.filter(pk=snapshot.pk).update(path="../../etc/passwd")
    login(client, viewer)
    response = client.get(reverse("dataset_download", args=[snapshot.sha256]))
    assert b"".join(response.streaming_content) == (settings.DATA_DIR / "datasets" / f"{snapshot.sha256}.jsonl"
                                                     ).read_bytes()


def test_only_operators_and_admins_may_open_the_build_form(client, bob, alice, carol, viewer):
    for user, status in ((bob, 200), (alice, 200), (carol, 403), (viewer, 403)):
        login(client, user)
        assert client.get(reverse("dataset_build_new")).status_code == status


def test_the_build_form_queues_a_build_with_overrides(client, bob, django_capture_on_commit_callbacks, monkeypatch):

    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: True)
    login(client, bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dataset_build_new"), {
            "name": "from the form", "sources": ["lessons", "commits"], "format": "sharegpt",
            "secrets_mode": "drop", "min_chars": "10", "jaccard_threshold": "0.7", "seed": "4", "drop_failed": "on"})
    build = DatasetBuild.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dataset_build_detail", args=[build.pk])
    assert build.created_by == bob and build.format == "sharegpt"
    assert build.config["sources"] == ["lessons", "commits"] and build.config["secrets_mode"] == "drop"
    assert build.config["filters"]["min_chars"] == 10 and build.config["dedup"]["jaccard_threshold"] == 0.7
    assert build.config["split"]["seed"] == 4


def test_the_build_form_shows_errors_and_creates_nothing(client, bob):
    login(client, bob)
    response = client.post(reverse("dataset_build_new"), {"name": "x", "format": "alpaca", "secrets_mode": "redact",
                                                          "min_chars": "500", "max_chars": "100",
                                                          "sources": ["lessons"]})
    assert response.status_code == 400  # like every other form that refuses its input
    assert "must not exceed" in response.content.decode()
    assert DatasetBuild.objects.count() == 0


def test_the_build_page_shows_progress_and_the_failure(client, viewer):
    build = run_build(start_build(None, name="empty", format="alpaca", overrides={"sources": ["lessons"]},
                                  queue=False).pk)
    login(client, viewer)
    page = client.get(reverse("dataset_build_detail", args=[build.pk])).content.decode()
    assert "found no approved examples" in page and "Failed" in page


# ---- API


def test_api_lists_and_describes_datasets(client, viewer, snapshot):
    headers = bearer(make_token(viewer, "Viewer"))
    listing = client.get("/api/v1/datasets", **headers).json()
    assert [d["sha256"] for d in listing["datasets"]] == [snapshot.sha256]
    meta = client.get(f"/api/v1/datasets/{snapshot.sha256}", **headers).json()
    assert meta["rows"] == 3 and meta["stats"]["per_source"] == {"commit": 1, "lesson": 2}
    assert [s["stage"] for s in meta["funnel"]][0] == "sources"


def test_api_downloads_by_hash(client, viewer, snapshot, settings):
    headers = bearer(make_token(viewer, "Viewer"))
    response = client.get(f"/api/v1/datasets/{snapshot.sha256}/download", **headers)
    assert b"".join(response.streaming_content) == (settings.DATA_DIR / snapshot.path).read_bytes()
    missing = client.get(f"/api/v1/datasets/{'f' * 64}", **headers)
    assert missing.status_code == 404 and set(missing.json()) == {"error", "details"}


def test_api_needs_authentication(client, snapshot):
    assert client.get("/api/v1/datasets").status_code == 401
    assert client.post("/api/v1/datasets", "{}", content_type="application/json").status_code == 401


def test_api_starts_a_build_for_operators(client, bob, django_capture_on_commit_callbacks, monkeypatch):

    queued = []
    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: queued.append(pk) or True)
    body = {"name": "api", "format": "alpaca", "sources": ["lessons"], "seed": 9, "dedup": {"jaccard_threshold": 0.9}}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/datasets", json.dumps(body), content_type="application/json",
                               **bearer(make_token(bob, "Operator")))
    assert response.status_code == 202
    build = DatasetBuild.objects.get()
    assert queued == [build.pk] and response.json()["id"] == build.pk
    assert build.config["split"]["seed"] == 9 and build.config["dedup"]["jaccard_threshold"] == 0.9
    status = client.get(f"/api/v1/datasets/builds/{build.pk}", **bearer(make_token(bob, "Operator", "t2")))
    assert status.json()["status"] == "queued"


def test_api_refuses_builds_for_reviewers(client, carol):
    response = client.post("/api/v1/datasets", json.dumps({"name": "x", "format": "alpaca"}),
                           content_type="application/json", **bearer(make_token(carol, "Reviewer")))
    assert response.status_code == 403
    assert DatasetBuild.objects.count() == 0


def test_api_reports_every_problem_of_a_bad_build_request(client, bob):
    headers = bearer(make_token(bob, "Operator"))
    response = client.post("/api/v1/datasets", json.dumps({"name": "", "format": "xml", "colour": 1}),
                           content_type="application/json", **headers)
    assert response.status_code == 400
    fields = {d["field"] for d in response.json()["details"]}
    assert fields == {"format", "colour"}
    response = client.post("/api/v1/datasets", json.dumps({"name": "", "sources": ["mail"]}),
                           content_type="application/json", **headers)
    details = " ".join(d["message"] for d in response.json()["details"])
    assert "'name' is required" in details and "mail" in details
    odd = client.post("/api/v1/datasets", json.dumps({"name": "x", "format": ["alpaca"], "split": [1], "seed": 2}),
                      content_type="application/json", **headers)
    assert odd.status_code == 400
    assert {d["field"] for d in odd.json()["details"]} == {"format", "split"}
    malformed = client.post("/api/v1/datasets", "{nope", content_type="application/json", **headers)
    assert malformed.status_code == 400 and malformed.json()["error"] == "malformed JSON"
    assert DatasetBuild.objects.count() == 0


def test_the_admin_shows_builds_and_snapshots_read_only(client, alice, snapshot):
    login(client, alice)
    assert snapshot.short_hash in client.get("/admin/curation/datasetsnapshot/").content.decode()
    assert client.get("/admin/curation/datasetbuild/").status_code == 200
    assert client.get(f"/admin/curation/datasetsnapshot/{snapshot.pk}/change/").status_code == 200
    assert client.get("/admin/curation/datasetsnapshot/add/").status_code == 403


def test_the_build_page_updates_over_its_socket_instead_of_refreshing(client, viewer):
    build = start_build(None, name="live", format="alpaca", overrides={"sources": ["lessons"]}, queue=False)
    login(client, viewer)
    page = client.get(reverse("dataset_build_detail", args=[build.pk])).content.decode()
    assert f'data-job-socket="/ws/jobs/build/{build.pk}/"' in page
    assert "http-equiv" not in page and "refreshes itself" not in page


def test_api_takes_the_mix_and_every_exporters_format(client, bob, monkeypatch):
    from curation.pipeline.exporters import EXPORTERS

    monkeypatch.setattr("jobs.queueing.send", lambda model, pk: True)
    headers = bearer(make_token(bob, "Operator"))
    for format in EXPORTERS:
        body = {"name": format, "format": format, "mix": {"weights": {"lessons": 2}, "min_reviewed_share": 0.5}}
        response = client.post("/api/v1/datasets", json.dumps(body), content_type="application/json", **headers)
        assert response.status_code == 202, response.content
        build = DatasetBuild.objects.get(pk=response.json()["id"])
        assert build.format == format and build.config["mix"]["weights"]["lessons"] == 2.0
        assert build.config["mix"]["min_reviewed_share"] == 0.5 and build.config["mix"]["caps"]["commits"] == 0
    bad = client.post("/api/v1/datasets", json.dumps({"name": "x", "mix": {"caps": {"forum": 1}}}),
                      content_type="application/json", **headers)
    assert bad.status_code == 400 and "names unknown source(s) forum" in bad.json()["error"]
