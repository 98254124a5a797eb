"""The agent's command words: routed by intent, answered in sentences with numbers."""

import json

import pytest
from django.core.management import call_command

from jobs.models import JobStatus
from professor.commands import EVALUATE, HELP, PREPARE, PROGRESS, READINESS, START, ask, route
from tests.factories import bearer, make_token
from tests.professor.factories import make_lessons, make_run, make_snapshot_row
from training.models import TrainingRun


@pytest.mark.parametrize(("words", "intent"), [
    ("prepare learning materials", PREPARE),
    ("Prepare the learning materials, please", PREPARE),
    ("build a dataset", PREPARE),
    ("list the commands", HELP),
    ("start training", START),
    ("Start the training now!", START),
    ("please begin training", START),
    ("check training progress", PROGRESS),
    ("Check the training progress and start nothing", PROGRESS),
    ("how is the training going?", PROGRESS),
    ("show the status", PROGRESS),
    ("evaluate model", EVALUATE),
    ("evaluate the newest candidate", EVALUATE),
    ("run the evaluation", EVALUATE),
    ("run training", START),
    ("are we ready to train?", READINESS),
    ("is training ready?", READINESS),
    ("should we start training?", READINESS),
])
def test_each_command_reaches_its_intent(words, intent):
    assert route(words) == intent


@pytest.mark.parametrize("words", ["", "hello there", "make me a sandwich", "start the car", "don't start training",
                                   "bake bread"])
def test_unknown_or_negated_words_reach_nothing(words):
    assert route(words) is None


@pytest.mark.django_db
def test_unknown_words_get_the_list_of_commands():
    answer = ask(None, "bake bread")
    assert answer.intent == HELP and not answer.ok
    assert "check training progress" in answer.text and "prepare learning materials" in answer.text


@pytest.mark.django_db
def test_check_training_progress_reports_and_starts_nothing(settings):
    settings.MIN_LESSONS_FOR_TRAINING = 1
    settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 1
    make_lessons(200)
    run = make_run(make_snapshot_row(60), status=JobStatus.RUNNING, hours_ago=100)
    TrainingRun.objects.filter(pk=run.pk).update(current_step=30, total_steps=120, progress=0.25)
    before = TrainingRun.objects.count()
    answer = ask(None, "check training progress")
    assert answer.intent == PROGRESS
    assert answer.text.startswith(f"Run {run.pk} is running: step 30 of 120 (25%)")
    assert TrainingRun.objects.count() == before


@pytest.mark.django_db
def test_progress_with_no_run_says_so():
    answer = ask(None, "check training progress")
    assert answer.text.startswith("No training run yet.")


@pytest.mark.django_db
def test_start_training_says_why_not_when_readiness_refuses(settings):
    settings.MIN_LESSONS_FOR_TRAINING = 100
    make_lessons(42)
    answer = ask(None, "start training")
    assert answer.intent == START and not answer.ok
    assert "42 approved examples (minimum 100)" in answer.text
    assert TrainingRun.objects.count() == 0


@pytest.mark.django_db
def test_start_training_starts_a_run_with_chosen_settings_when_ready(settings, django_capture_on_commit_callbacks):
    settings.MIN_LESSONS_FOR_TRAINING = 60
    settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 60
    settings.DEFAULT_BASE_MODEL = "org/some-model"
    make_lessons(60)
    answer = ask(None, "start training")
    assert answer.ok, answer.text
    run = TrainingRun.objects.get()
    assert answer.text.startswith(f"Started run {run.pk} on dataset ")
    assert run.hyperparameters["batch_size"] == 2 and run.hyperparameters["num_epochs"] == 5
    assert run.parameter_choice.source == "automatic"


@pytest.mark.django_db
def test_start_training_refuses_a_dataset_under_the_minimum(settings):
    settings.MIN_LESSONS_FOR_TRAINING = 1
    settings.MIN_NEW_EXAMPLES_FOR_TRAINING = 1
    make_lessons(12)
    answer = ask(None, "start training")
    assert not answer.ok
    assert "the dataset has 12 examples; automatic runs need at least 50" in answer.text
    assert TrainingRun.objects.count() == 0


@pytest.mark.django_db
def test_prepare_learning_materials_builds_a_dataset():
    from curation.models import DatasetSnapshot

    make_lessons(30)
    answer = ask(None, "prepare learning materials", in_process=True)
    assert answer.ok, answer.text
    snapshot = DatasetSnapshot.objects.get()
    assert f"Built dataset {snapshot.short_hash} from 30 approved examples: {snapshot.row_count} examples" \
        in answer.text


@pytest.mark.django_db
def test_evaluate_model_without_a_candidate_says_so():
    answer = ask(None, "evaluate model")
    assert answer.intent == EVALUATE and not answer.ok
    assert "no candidate version of line default" in answer.text


@pytest.mark.django_db
def test_a_viewer_cannot_start_training_through_the_api(client, viewer):
    response = client.post("/api/v1/professor/ask", {"words": "start training"}, content_type="application/json",
                           **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 403
    assert TrainingRun.objects.count() == 0


@pytest.mark.django_db
def test_the_api_answers_a_progress_question(client, viewer):
    response = client.post("/api/v1/professor/ask", {"words": "check training progress"},
                           content_type="application/json", **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 200
    assert response.json()["intent"] == PROGRESS and response.json()["answer"].startswith("No training run yet")


@pytest.mark.django_db
def test_the_api_refuses_an_empty_command(client, viewer):
    response = client.post("/api/v1/professor/ask", {"words": " "}, content_type="application/json",
                           **bearer(make_token(viewer, "Viewer")))
    assert response.status_code == 400 and response.json()["details"][0]["field"] == "words"


@pytest.mark.django_db
def test_the_api_refuses_a_command_too_long_or_not_words(client, viewer):
    token = make_token(viewer, "Viewer")
    for body in ({"words": "x" * 501}, {"words": 5}, {"words": "check", "loud": True}):
        response = client.post("/api/v1/professor/ask", body, content_type="application/json", **bearer(token))
        detail = response.json()["details"][0]
        assert response.status_code == 400 and set(detail) == {"field", "message"}, body
        assert detail["field"] in ("words", "loud") and detail["message"].startswith(detail["field"] + ": "), body


@pytest.mark.django_db
def test_the_command_line_answers_in_plain_words(capsys):
    call_command("professor", "ask", "check", "training", "progress", "--json")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "No training run yet."
    assert json.loads(lines[-1])["intent"] == PROGRESS


@pytest.mark.django_db
def test_the_training_page_box_asks_and_shows_the_answer(client, bob):
    client.force_login(bob)
    response = client.post("/professor/ask", {"words": "check training progress", "next": "/training/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/training/"
    assert "No training run yet." in response.content.decode()


@pytest.mark.django_db
def test_evaluate_model_starts_the_arena_on_the_newest_candidate(bob):
    from arena.models import Evaluation
    from models_registry.models import ModelLine, ModelVersion

    line = ModelLine.objects.create(name="default", base_model="org/some-model")
    for number in (1, 2):
        ModelVersion.objects.create(line=line, number=number, label=f"v{number}", base_model="org/some-model",
                                    adapter_dir=f"runs/{number}/adapter")
    answer = ask(bob, "evaluate model")
    evaluation = Evaluation.objects.get()
    assert answer.ok and evaluation.candidate.label == "v2"
    assert answer.text == f"Evaluating default v2 against the base model (evaluation {evaluation.pk})."


@pytest.mark.django_db
def test_a_viewer_may_ask_about_progress_but_not_start_training_from_the_box(client, viewer):
    client.force_login(viewer)
    assert 'action="/professor/ask"' in client.get("/training/").content.decode()
    page = client.post("/professor/ask", {"words": "check training progress"}, follow=True).content.decode()
    assert "No training run yet." in page
    page = client.post("/professor/ask", {"words": "start training"}, follow=True).content.decode()
    assert "Not allowed: this needs the Operator role" in page and "accounts.operate_training" not in page
    assert TrainingRun.objects.count() == 0
