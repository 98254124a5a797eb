"""The verdict as people read it: each primary metric with its interval, margin and where the margin came
from, and each category's guard in words."""

import pytest

from arena.models import Decision, Evaluation
from arena.policy import decide
from jobs.models import JobStatus
from tests.arena.factories import make_exam
from tests.arena.test_policy_verdicts import rows
from tests.models_registry.factories import make_line, make_version

pytestmark = pytest.mark.django_db


def test_the_evaluation_page_shows_each_metric_with_its_margin_and_the_guards(client, viewer, settings):
    settings.ARENA_ASSUMED_SEED_SD = 0.0  # the noise unknown and nothing assumed: the margins are the minimums
    line = make_line()
    candidate = make_version(line)
    items = rows(n=80, gain=0.3, against_passed=True, candidate_passed=True)
    for row in [r for r in items if r["category"] == "sql"][:10]:
        row["candidate_passed"] = False
    verdict = decide(items + rows(n=12, kind="holdout", categories=("holdout",)), candidate="v1", against="base",
                     context={"exam": {"version": 1, "items": 80}, "holdout": {"version": 1, "items": 12,
                                                                            "excluded_as_trained_on": 0}})
    evaluation = Evaluation.objects.create(line=line, candidate=candidate, exam=make_exam(line), verdict=verdict,
                                           decision=verdict["decision"], status=JobStatus.SUCCEEDED)
    assert evaluation.decision == Decision.HOLD
    client.force_login(viewer)

    page = client.get(evaluation.get_absolute_url()).content.decode()

    assert "exam loss" in page and "holdout loss" in page and "pass rate" in page
    assert "ARENA_MIN_EFFECT 1.0% of base&#x27;s exam loss" in page and "ARENA_PASS_MARGIN 10%" in page
    assert "Seed noise: unknown" in page
    assert "not shown within its tolerance" in page
