"""The unattended cycle on the toy model: approved lessons to an active version, then the interval rule."""

import random

import pytest
from django.core.management import CommandError, call_command

from curation.models import Lesson
from models_registry.models import ModelLine, VersionStatus
from professor.cycle import run_cycle, start_cycle
from professor.models import Cycle, Outcome
from tests.curation.factories import make_lesson

ANSWER = "Use ls to list the files."
QUESTIONS = ["how do I list files?", "which command lists a folder?", "how can I see what is in this folder?",
             "what shows the files in this directory?"]
WORDS = ("alpha bravo cedar delta ember fjord granite harbor island juniper kettle lantern meadow nickel orchard "
         "pepper quartz river saddle timber umber velvet willow xenon yonder zephyr").split()


def domain_lessons(count: int) -> list:
    """Lessons that all teach one answer, worded differently enough to survive near-duplicate removal."""
    rng = random.Random(3)
    return [make_lesson(f"{' '.join(rng.sample(WORDS, 6))}: {QUESTIONS[i % len(QUESTIONS)]}", ANSWER)
            for i in range(count)]


@pytest.fixture
def loop_settings(settings):
    pytest.importorskip("peft", reason="needs the train extra (torch, transformers, peft)")
    # The trainer runs as a child process here even where a Docker engine answers (CI has one,
    # without the GPU training image), as in the other cycle tests.
    settings.TRAINING_BACKEND = "local"
    settings.MIN_LESSONS_FOR_TRAINING = 40
    settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 10
    settings.MIN_TRAINING_INTERVAL_HOURS = 1
    settings.MIN_DATASET_EXAMPLES = 20
    # Enough holdout examples and exam items for the policy's minimum evidence (10 and 20 by default).
    settings.ARENA_HOLDOUT_SIZE = 12
    # The first promotion over the base model waits for a person by default; these tests show the loop
    # carrying a verdict out (tests/professor/test_fair_promotion.py covers the approval rule).
    settings.PROFESSOR_APPROVE_FIRST_PROMOTION = False
    # The recipe's seed noise is declared, as an operator who measured it sets it, so the Arena may promote
    # without the cycle training replicas first (tests/professor/test_seed_replicas.py leaves it unknown).
    settings.ARENA_SEED_SD = 0.02
    settings.ARENA_MAX_NEW_TOKENS = 12
    settings.ARENA_BATCH_SIZE = 4
    settings.ARENA_BOOTSTRAP_SAMPLES = 500
    settings.MEMORY_ROOT = settings.DATA_DIR / "memory"
    return settings


def domain_exam(line):
    from tests.arena.factories import make_exam

    return make_exam(line, count=24)


@pytest.mark.django_db
def test_a_full_unattended_cycle_promotes_and_the_next_one_waits_for_the_interval(loop_settings, capsys, client,
                                                                                  bob):
    from training.base_models import default_base_model

    domain_lessons(48)
    line = ModelLine.objects.create(name="default", base_model=default_base_model())
    domain_exam(line)

    call_command("professor", "cycle", "--wait", "--in-process")

    out = capsys.readouterr().out
    cycle = Cycle.objects.get()
    assert cycle.status == "succeeded" and cycle.outcome == Outcome.PROMOTED, out
    version = line.active_version()
    assert version is not None and version == cycle.version and version.status == VersionStatus.ACTIVE
    assert version.metrics["arena"]["decision"] == "promote"
    assert cycle.run.parameter_choice.source == "automatic"
    assert cycle.run.hyperparameters["target_modules"] == "all-linear"  # the toy's settings
    steps = [(entry.step, entry.outcome) for entry in cycle.journal.all()]
    assert [step for step, _ in steps if step != "dataset"][:2] == ["memory", "readiness"]
    assert ("dataset", "ok") in steps and ("training", "ok") in steps and ("evaluation", "ok") in steps
    assert steps[-1] == ("policy", "ok")
    assert f"{version.label} is now the active version of default" in cycle.summary
    assert "[" in out and "policy: ok" in out  # the journal was printed as it went
    links = {entry_link["label"]: entry_link["url"] for entry in cycle.journal.all() for entry_link in entry.links}
    assert links[f"evaluation {cycle.evaluation_id}"] == cycle.evaluation.get_absolute_url()  # its own page
    assert links[f"default {version.label}"] == version.get_absolute_url()
    client.force_login(bob)
    for url in set(links.values()):
        assert client.get(url).status_code == 200, url

    loop_settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 0  # only the interval rule stands in the way now
    second = start_cycle(None, queue=False)
    run_cycle(second.pk, in_process=True)
    second.refresh_from_db()
    assert second.outcome == Outcome.NOT_READY and second.status == "succeeded"
    assert second.summary.startswith("not ready to train: last run ") and second.summary.endswith("(minimum 1 h)")
    assert line.versions.count() == 1


@pytest.mark.django_db
def test_a_failed_step_stops_the_cycle_with_a_plain_reason_and_promotes_nothing(loop_settings):
    loop_settings.MIN_DATASET_EXAMPLES = 1000
    domain_lessons(48)
    with pytest.raises(CommandError, match="automatic runs need at least 1000"):
        call_command("professor", "cycle", "--wait", "--in-process")
    cycle = Cycle.objects.get()
    assert cycle.status == "failed" and cycle.outcome == Outcome.FAILED
    assert cycle.human_error.startswith("dataset: the dataset has ")
    assert cycle.journal.last().outcome == "failed"
    assert not ModelLine.objects.filter(versions__status=VersionStatus.ACTIVE).exists()
    from training.models import TrainingRun

    assert TrainingRun.objects.count() == 0


@pytest.mark.django_db
def test_a_not_ready_cycle_imports_memory_and_stops_at_readiness(loop_settings):
    import json

    loop_settings.MEMORY_ROOT.mkdir()
    (loop_settings.MEMORY_ROOT / "lessons.json").write_text(json.dumps({"lessons": [
        {"lesson_id": "m-1", "situation": "the deploy script failed on a missing variable",
         "action": "export the variable before running the deploy"}]}))
    cycle = start_cycle(None, queue=False)
    run_cycle(cycle.pk, in_process=True)
    cycle.refresh_from_db()
    assert cycle.outcome == Outcome.NOT_READY
    memory, readiness = cycle.journal.all()[:2]
    assert memory.step == "memory" and memory.numbers["created"] == 1
    assert readiness.outcome == "stopped" and "0 approved examples (minimum 40)" in readiness.message
    assert Lesson.objects.get().origin == "memory"


@pytest.mark.django_db
def test_the_professor_page_shows_the_timeline(loop_settings, client, bob):
    cycle = start_cycle(None, queue=False)
    run_cycle(cycle.pk, in_process=True)
    client.force_login(bob)
    page = client.get("/professor/").content.decode()
    assert f"Cycle #{cycle.pk}" in page and "Not ready to train" in page and "Readiness · Stopped" in page
    detail = client.get(f"/professor/cycles/{cycle.pk}/").content.decode()
    assert "Timeline" in detail and "Memory import" in detail
    overview = client.get("/").content.decode()
    assert f"#{cycle.pk}" in overview and "Not ready to train" in overview


@pytest.mark.django_db
def test_an_unexpected_error_ends_the_cycle_at_its_step_and_promotes_nothing(loop_settings, monkeypatch):
    from professor import cycle as cycle_module

    def broken(*args, **kwargs):
        raise RuntimeError("the worker list could not be read")

    monkeypatch.setattr(cycle_module, "suggest_parameters", broken)
    domain_lessons(48)
    cycle = start_cycle(None, queue=False)
    run_cycle(cycle.pk, in_process=True)
    cycle.refresh_from_db()
    assert cycle.status == "failed" and cycle.outcome == Outcome.FAILED
    assert cycle.human_error == "internal error: RuntimeError: the worker list could not be read"
    last = cycle.journal.last()
    assert (last.step, last.outcome) == ("training", "failed")
    assert not ModelLine.objects.filter(versions__status=VersionStatus.ACTIVE).exists()


@pytest.mark.django_db
def test_every_link_of_a_stopped_cycles_journal_opens_a_page(loop_settings, client, bob):
    loop_settings.MIN_DATASET_EXAMPLES = 1000
    domain_lessons(48)
    with pytest.raises(CommandError):
        call_command("professor", "cycle", "--wait", "--in-process")
    links = [entry_link for entry in Cycle.objects.get().journal.all() for entry_link in entry.links]
    assert any(entry_link["label"].startswith("dataset ") for entry_link in links)  # the snapshot's own page
    client.force_login(bob)
    for entry_link in links:
        assert client.get(entry_link["url"]).status_code == 200, entry_link
