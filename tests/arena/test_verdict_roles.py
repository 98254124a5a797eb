"""Only an Admin carries a verdict out or overrides one; the history shows which happened."""

import pytest
from django.core.exceptions import PermissionDenied

from arena import services
from arena.models import Decision
from models_registry.models import VersionStatus
from tests.arena.factories import make_evaluation
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["bob", "carol", "viewer", "dave"])
def test_only_an_admin_applies_a_verdict(request, who):
    line = make_line()
    evaluation = make_evaluation(make_version(line), decision=Decision.PROMOTE)
    with pytest.raises(PermissionDenied):
        services.apply_verdict(evaluation, request.getfixturevalue(who))
    with pytest.raises(PermissionDenied):
        services.apply_verdict(evaluation)  # nobody, and not the system
    assert line.active_version() is None


def test_an_admin_applies_a_promote_through_the_registry_with_the_verdicts_numbers(alice):
    line = make_line()
    candidate = make_version(line)
    assert services.apply_verdict(make_evaluation(candidate), alice) == "promoted"
    activation = line.activations.get()
    assert activation.to_version == candidate and activation.created_by == alice
    assert activation.arena["difference"]["low"] == 0.2 and not activation.policy_overridden
    assert "Arena evaluation" in activation.reason


def test_a_reject_verdict_sets_the_version_rejected(alice):
    line = make_line()
    candidate = make_version(line)
    assert services.apply_verdict(make_evaluation(candidate, decision=Decision.REJECT), alice) == "rejected"
    candidate.refresh_from_db()
    assert candidate.status == VersionStatus.REJECTED and line.active_version() is None


def test_a_promote_against_a_version_no_longer_active_is_stale(alice):
    line = make_line()
    old, other, candidate = make_version(line), make_version(line), make_version(line)
    evaluation = make_evaluation(candidate, against=old)
    services.override_verdict(other, alice, "manual")
    with pytest.raises(services.ArenaError, match="active version changed"):
        services.apply_verdict(evaluation, alice)


@pytest.mark.parametrize("decision", [Decision.HOLD, Decision.REJECT])
def test_only_an_admin_overrides_a_held_or_rejected_verdict_with_a_reason(alice, bob, decision):
    line = make_line()
    candidate = make_version(line)
    evaluation = make_evaluation(candidate, decision=decision)
    if decision == Decision.REJECT:
        services.apply_verdict(evaluation, alice)
    with pytest.raises(PermissionDenied):
        services.override_verdict(candidate, bob, "I like it")
    with pytest.raises(services.ArenaError, match="reason"):
        services.override_verdict(candidate, alice, " ")

    activation = services.override_verdict(candidate, alice, "customer needs the new tool calls today")

    assert activation.policy_overridden and activation.arena["decision"] == decision
    assert line.active_version() == candidate
