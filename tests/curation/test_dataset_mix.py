"""The mix of sources: caps, weights and the reviewed share keep reviewed data from being buried."""

import pytest

from curation.models import ReviewStatus
from curation.pipeline.mix import plan
from curation.services.datasets import run_build, start_build
from jobs.models import JobStatus
from tests.curation.factories import make_commit_example, make_conversation, make_lesson, make_repository

pytestmark = pytest.mark.django_db


def test_by_default_commits_are_sampled_down_to_half_the_dataset():
    keep, why = plan({"lessons": 22, "commits": 1918, "conversations": 3}, {"min_reviewed_share": 0.5})
    assert keep == {"lessons": 22, "commits": 25, "conversations": 3} and why == {"commits": "reviewed_share"}


def test_without_reviewed_records_commits_are_kept_whole():
    keep, _ = plan({"lessons": 0, "commits": 40, "conversations": 0}, {"min_reviewed_share": 0.5})
    assert keep["commits"] == 40


def test_caps_bound_each_source():
    keep, why = plan({"lessons": 80, "commits": 10, "conversations": 5},
                     {"caps": {"lessons": 50}, "min_reviewed_share": 0})
    assert keep == {"lessons": 50, "commits": 10, "conversations": 5} and why == {"lessons": "cap"}


def test_weights_give_the_largest_set_in_those_proportions():
    keep, why = plan({"lessons": 30, "commits": 500, "conversations": 10},
                     {"weights": {"lessons": 2, "commits": 1, "conversations": 0}, "min_reviewed_share": 0})
    assert keep == {"lessons": 30, "commits": 15, "conversations": 0}
    assert why == {"commits": "weight", "conversations": "weight"}


def _build(**overrides):
    return run_build(start_build(None, name="mix", format="alpaca", overrides=overrides, queue=False).pk)


def _many_commits(count: int):
    repository = make_repository()
    for i in range(count):
        make_commit_example(repository, message=f"fix: handle case {i} of the parser", diff=f"+line {i} " * 5 + f"{i}")


def test_a_default_build_keeps_lessons_and_conversations_at_least_half(settings):
    for i in range(6):
        make_lesson(situation=f"Situation {i}: the import crashed on file {i * 7}",
                    action=f"Opened file {i * 7} with utf-8-sig and added test {i}")
    make_conversation()
    _many_commits(40)
    build = _build()
    assert build.status == JobStatus.SUCCEEDED, build.error
    mix = build.funnel[-1]
    assert mix["stage"] == "mix" and mix["by_source"] == {"lessons": 6, "commits": 7, "conversations": 1}
    assert mix["reasons"] == {"reviewed_share:commits": 33}
    assert build.snapshot.stats["per_source"]["commit"] == 7
    assert build.funnel[0]["by_source"]["commits"] == 40  # the funnel shows the mix before and after


def test_the_same_build_keeps_the_same_commits(settings):
    make_lesson(status=ReviewStatus.APPROVED)
    _many_commits(12)
    first, second = _build(), _build()
    assert first.snapshot.sha256 == second.snapshot.sha256  # the seeded sample picks the same commits


def test_bad_mix_settings_are_refused_by_name():
    with pytest.raises(Exception) as caught:
        start_build(None, name="bad", format="alpaca", overrides={"mix": {"caps": {"commits": -1}}}, queue=False)
    assert "mix.caps.commits" in str(caught.value)


def test_the_build_form_shows_counts_per_source_and_sends_caps_and_weights(client, bob, monkeypatch):
    from curation.tasks.datasets import build_dataset_task

    make_lesson()
    make_lesson(situation="Another situation that is long enough", action="Another fix that is long enough")
    _many_commits(3)
    client.force_login(bob)
    html = client.get("/datasets/new/").content.decode()
    assert "Lessons (2 approved)" in html and "Git commits (3 approved)" in html
    assert 'id="mix-table"' in html and 'name="cap_commits"' in html and 'name="weight_lessons"' in html
    monkeypatch.setattr(build_dataset_task, "delay", lambda *a, **k: None)
    response = client.post("/datasets/new/", {"name": "mixed", "sources": ["lessons", "commits"], "format": "alpaca",
                                              "secrets_mode": "redact", "cap_commits": 2, "weight_lessons": 1,
                                              "weight_commits": 1, "min_reviewed_share": 0.3})
    assert response.status_code == 302, response.content.decode()[-2000:]
    from curation.models import DatasetBuild

    config = DatasetBuild.objects.get().config["mix"]
    assert config["caps"]["commits"] == 2 and config["weights"] == {"lessons": 1.0, "commits": 1.0,
                                                                    "conversations": 0.0}
    assert config["min_reviewed_share"] == 0.3


def test_form_errors_stand_next_to_their_fields(client, bob):
    client.force_login(bob)
    response = client.post("/datasets/new/", {"name": "x", "sources": ["lessons"], "format": "alpaca",
                                              "secrets_mode": "redact", "eval_fraction": 5, "cap_commits": -1})
    html = response.content.decode()
    assert response.status_code == 400 and 'id="form-errors"' in html
    fraction = html.split('name="eval_fraction"')[1].split("</label>")[0]
    assert 'class="errorlist"' in fraction
    cap = html.split('name="cap_commits"')[1].split("</td>")[0]
    assert 'class="errorlist"' in cap
