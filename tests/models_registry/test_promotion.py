import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.utils import timezone

from models_registry import services
from models_registry.models import Activation, ActivationKind, ModelVersion, VersionStatus
from tests.factories import bearer, make_token, make_user
from tests.models_registry.factories import make_line, make_version


@pytest.fixture
def line(db):
    return make_line()


def test_promotion_activates_version_archives_previous_and_records_it(line, alice):
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    activation = services.promote_version(v2, alice, "better eval loss")
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.status, v2.status) == (VersionStatus.ARCHIVED, VersionStatus.ACTIVE)
    assert (activation.from_version, activation.to_version, activation.kind) == (v1, v2, ActivationKind.PROMOTE)
    assert activation.created_by == alice and activation.reason == "better eval loss"


def test_rollback_restores_previous_version_and_is_recorded(line, alice):
    v1, v2 = make_version(line), make_version(line)
    services.promote_version(v1, alice, "first")
    services.promote_version(v2, alice, "second")
    activation = services.rollback_line(line, alice, "v2 regressed")
    assert line.active_version() == v1
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.ARCHIVED
    assert (activation.kind, activation.from_version, activation.to_version) == (ActivationKind.ROLLBACK, v2, v1)
    assert activation.reason == "v2 regressed"


def test_rollback_to_a_chosen_version(line, alice):
    v1, v2, v3 = make_version(line), make_version(line), make_version(line)
    for v in (v1, v2, v3):
        services.promote_version(v, alice, "up")
    services.rollback_line(line, alice, "back to the first", to_version=v1)
    assert line.active_version() == v1


def test_rollback_without_previous_version_gives_clear_message(line, alice):
    with pytest.raises(services.RegistryError, match="has no previous version to roll back to"):
        services.rollback_line(line, alice, "nothing yet")
    services.promote_version(make_version(line), alice, "first")
    with pytest.raises(services.RegistryError, match="no previous version"):
        services.rollback_line(line, alice, "still nothing")


def test_missing_adapter_file_is_refused_naming_it(line, alice):
    current, version = make_version(line), make_version(line)
    services.promote_version(current, alice, "first")
    (Path(settings.DATA_DIR) / version.adapter_dir / "adapter_model.safetensors").unlink()
    with pytest.raises(services.RegistryError, match="adapter_model.safetensors is missing"):
        services.promote_version(version, alice, "go")
    assert line.active_version() == current  # nothing changed
    assert Activation.objects.count() == 1


def test_altered_adapter_file_is_refused_naming_it(line, alice):
    version = make_version(line)
    (Path(settings.DATA_DIR) / version.adapter_dir / "adapter_config.json").write_text("{}")
    with pytest.raises(services.RegistryError, match="adapter_config.json was altered"):
        services.promote_version(version, alice, "go")
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.CANDIDATE


def test_version_of_another_base_model_is_refused(line, alice):
    version = make_version(line, base_model="other/base")
    with pytest.raises(services.RegistryError, match="other/base"):
        services.promote_version(version, alice, "go")
    assert not line.versions.active().exists()


def test_rejected_versions_need_a_reason_and_active_ones_cannot_be_promoted(line, alice):
    rejected = make_version(line, status=VersionStatus.REJECTED)
    with pytest.raises(services.RegistryError, match="reason to override"):
        services.promote_version(rejected, alice, "")
    with pytest.raises(services.RegistryError, match="rejected"):
        services.rollback_line(line, alice, "back", to_version=rejected)
    active = make_version(line)
    services.promote_version(active, alice, "go")
    with pytest.raises(services.RegistryError, match="already active"):
        services.promote_version(active, alice, "again")


@pytest.mark.parametrize("who", ["bob", "carol", "viewer", "dave"])
def test_only_admins_may_promote_rollback_or_archive(line, who, request):
    user = request.getfixturevalue(who)
    version = make_version(line)
    with pytest.raises(PermissionDenied):
        services.promote_version(version, user, "x")
    with pytest.raises(PermissionDenied):
        services.rollback_line(line, user, "x")
    with pytest.raises(PermissionDenied):
        services.archive_version(version, user)
    assert ModelVersion.objects.get(pk=version.pk).status == VersionStatus.CANDIDATE


def test_archive_refuses_the_active_version(line, alice):
    active, candidate = make_version(line), make_version(line)
    services.promote_version(active, alice, "x")
    with pytest.raises(services.RegistryError, match="is active"):
        services.archive_version(active, alice)
    services.archive_version(candidate, alice)
    assert ModelVersion.objects.get(pk=candidate.pk).status == VersionStatus.ARCHIVED


def test_history_answers_which_version_was_active_at_a_time(line, alice):
    v1, v2 = make_version(line), make_version(line)
    start = timezone.now()
    a1 = services.promote_version(v1, alice, "x")
    a2 = services.promote_version(v2, alice, "y")
    Activation.objects.filter(pk=a1.pk).update(created_at=start + timedelta(hours=1))
    Activation.objects.filter(pk=a2.pk).update(created_at=start + timedelta(hours=2))
    assert line.version_active_at(start) is None
    assert line.version_active_at(start + timedelta(minutes=90)) == v1
    assert line.version_active_at(start + timedelta(hours=3)) == v2


def test_database_refuses_two_active_versions(line):
    from django.db import IntegrityError, transaction

    make_version(line, status=VersionStatus.ACTIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_version(line, status=VersionStatus.ACTIVE)


@pytest.mark.django_db(transaction=True)
def test_concurrent_promotions_are_serialized_and_history_stays_consistent():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks; runs in the services CI pass (DATABASE_URL=postgres://...)")
    admin = make_user("root", "Admin")
    line = make_line()
    versions = [make_version(line) for _ in range(6)]
    barrier = threading.Barrier(len(versions))
    errors = []

    def promote(version):
        try:
            barrier.wait()
            services.promote_version(version, admin, "race")
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert line.versions.active().count() == 1
    chain = list(Activation.objects.filter(line=line).order_by("created_at", "id"))
    assert len(chain) == len(versions)
    assert chain[0].from_version is None
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert later.from_version_id == earlier.to_version_id  # no lost or forked history
    assert line.active_version() == chain[-1].to_version


def _with_verdict(version, decision, against):
    """The version's metrics["arena"] as the Arena writes it: a decision against a version label."""
    metrics = dict(version.metrics or {})
    metrics["arena"] = {"decision": decision, "against": against, "reasons": [f"planted {decision}"]}
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    version.refresh_from_db()
    return version


@pytest.mark.parametrize(("decision", "against", "expected"), [
    (None, None, "was never evaluated in the Arena against v1"),
    ("reject", "v1", "The Arena said reject for v2 against v1"),
    ("hold", "v1", "The Arena said hold for v2 against v1"),
    ("promote", "v0", "judged v2 against v0, which is no longer the active version"),
])
def test_the_promote_page_warns_when_no_promote_verdict_backs_the_version(client, line, alice, decision,
                                                                        against, expected):
    v1 = make_version(line, status=VersionStatus.ACTIVE)
    v2 = make_version(line)
    if decision:
        _with_verdict(v2, decision, against)
    client.force_login(alice)
    page = client.get(f"/models/{line.name}/v2/promote/").content.decode()
    assert "promotion-warning" in page and expected in page
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE and v1.is_active


def test_the_promote_page_has_no_warning_for_a_promote_verdict_against_the_active_version(client, line, alice):
    make_version(line, status=VersionStatus.ACTIVE)
    _with_verdict(make_version(line), "promote", "v1")
    client.force_login(alice)
    page = client.get(f"/models/{line.name}/v2/promote/").content.decode()
    assert "promotion-warning" not in page and "Yes, promote v2" in page


def test_a_promote_post_without_the_confirmation_answers_with_the_confirmation_form(client, line, alice):
    make_version(line, status=VersionStatus.ACTIVE)
    v2 = make_version(line)
    client.force_login(alice)
    response = client.post(f"/models/{line.name}/v2/promote/", {"reason": "looks fine"})
    page = response.content.decode()
    assert response.status_code == 200 and "Yes, promote v2" in page and 'name="confirm" value="yes"' in page
    assert "never evaluated" in page
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    no_reason = client.post(f"/models/{line.name}/v2/promote/", {"confirm": "yes", "reason": ""})
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    done = client.post(f"/models/{line.name}/v2/promote/", {"confirm": "yes", "reason": "looks fine"})
    assert done.status_code == 302 and ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.ACTIVE
    assert Activation.objects.filter(to_version=v2).get().reason == "looks fine"


def test_the_line_page_promote_button_leads_to_the_confirmation_page(client, line, alice):
    make_version(line, status=VersionStatus.ACTIVE)
    make_version(line)
    client.force_login(alice)
    page = client.get(f"/models/{line.name}/").content.decode()
    assert f'href="/models/{line.name}/v2/promote/"' in page


def test_the_admin_promote_action_confirms_first_with_the_same_warning(client, line, alice):
    make_version(line, status=VersionStatus.ACTIVE)
    v2 = _with_verdict(make_version(line), "promote", "v0")
    client.force_login(alice)
    url = "/admin/models_registry/modelversion/"
    page = client.post(url, {"action": "promote", "_selected_action": [v2.pk]}).content.decode()
    assert "Promote" in page and "which is no longer the active version" in page
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.CANDIDATE
    client.post(url, {"action": "promote", "_selected_action": [v2.pk], "post": "yes", "reason": "by hand"})
    assert ModelVersion.objects.get(pk=v2.pk).status == VersionStatus.ACTIVE


def test_the_api_promotes_at_once_and_its_answer_carries_the_warning(client, line, alice):
    make_version(line, status=VersionStatus.ACTIVE)
    make_version(line)
    warned = client.post(f"/api/v1/lines/{line.name}/versions/v2/promote", json.dumps({"reason": "x"}),
                         content_type="application/json", **bearer(make_token(alice, "Admin")))
    assert warned.status_code == 200 and warned.json()["activation"]["to"] == "v2"
    assert "v2 was never evaluated in the Arena against v1" in warned.json()["warning"]
    _with_verdict(make_version(line), "promote", "v2")
    clean = client.post(f"/api/v1/lines/{line.name}/versions/v3/promote", json.dumps({"reason": "x"}),
                        content_type="application/json", **bearer(make_token(alice, "Admin", "b")))
    assert clean.status_code == 200 and "warning" not in clean.json()
