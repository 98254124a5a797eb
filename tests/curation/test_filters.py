import pytest

from curation.pipeline.config import ConfigProblem, build_config
from curation.pipeline.example import Example
from curation.pipeline.filters import garbage_ratio, is_failed_outcome, reject_reason

CONFIG = {"min_chars": 20, "max_chars": 400, "max_garbage_ratio": 0.01, "drop_failed": True}


def lesson(situation="The nightly build failed because the cache was stale.",
           action="Cleared the cache directory and rebuilt the project.", outcome="SUKCES"):
    return Example(kind="lesson", id=1, ref="l1", occurred_at=0.0, instruction=situation, output=action,
                   outcome=outcome)


def test_it_keeps_a_clean_successful_lesson():
    assert reject_reason(lesson(), CONFIG) is None


@pytest.mark.parametrize("situation,action", [("", "did it"), ("The build broke", "   "), ("", "")])
def test_it_drops_empty_examples(situation, action):
    assert reject_reason(lesson(situation, action), CONFIG) == "empty"


def test_it_drops_an_empty_conversation():
    example = Example(kind="conversation", id=1, ref="t", occurred_at=0.0, turns=[{"role": "user", "content": "hi"}])
    assert reject_reason(example, CONFIG) == "empty"


def test_it_drops_too_short_and_too_long_examples():
    assert reject_reason(lesson("Fix", "Done"), CONFIG) == "too_short"
    assert reject_reason(lesson(action="x" * 500), CONFIG) == "too_long"
    assert reject_reason(lesson(action="x" * 500), {**CONFIG, "max_chars": 1000}) is None


@pytest.mark.parametrize("outcome", ["PORAŻKA: nie działa", "❌", "BŁĄD kompilacji", "The deploy failed",
                                     "error: tests red", "Failure"])
def test_it_drops_failed_outcomes(outcome):
    assert reject_reason(lesson(outcome=outcome), CONFIG) == "failed_outcome"


@pytest.mark.parametrize("outcome", ["SUKCES", "✅ all green", "success", "Tests passed", "It succeeded",
                                     "SUKCES: fixed the error", "", "merged into main"])
def test_it_keeps_successful_or_unknown_outcomes(outcome):
    assert not is_failed_outcome(outcome)
    assert reject_reason(lesson(outcome=outcome), CONFIG) is None


def test_failed_outcomes_are_kept_when_the_filter_is_off():
    assert reject_reason(lesson(outcome="❌ failed"), {**CONFIG, "drop_failed": False}) is None


def test_a_failed_conversation_is_dropped():
    example = Example(kind="conversation", id=1, ref="t", occurred_at=0.0, outcome="failed",
                      turns=[{"role": "user", "content": "Rename the helper everywhere"},
                             {"role": "assistant", "content": "Renamed it in four files."}])
    assert reject_reason(example, CONFIG) == "failed_outcome"


@pytest.mark.parametrize("response", [
    "Ran it:\nTraceback (most recent call last):\n  File \"x.py\", line 1",
    "ValueError: invalid literal for int()",
    "thread 'main' panicked at src/main.rs:2:5",
    "fatal: not a git repository",
])
def test_it_drops_responses_with_error_markers(response):
    assert reject_reason(lesson(action=response), CONFIG) == "error_marker"


def test_error_words_in_the_prompt_are_fine():
    example = lesson(situation="The import raised ValueError: bad value in settings", action="Validated the setting.")
    assert reject_reason(example, CONFIG) is None


@pytest.mark.parametrize("garbage", ["ZaÅ‚oÅ¼yÅ‚em nowÄ… gaÅ‚Ä…Åº w repozytorium",
                                     "The file contains \ufffd\ufffd broken bytes here",
                                     "Control\x01\x02\x03\x04 characters everywhere in this text"])
def test_it_drops_encoding_garbage(garbage):
    assert reject_reason(lesson(action=garbage), CONFIG) == "encoding_garbage"


def test_polish_and_german_text_is_not_garbage():
    text = "Założyłem nową gałąź; Äpfel und Öl sind schön. Zażółć gęślą jaźń."
    assert garbage_ratio(text) == 0.0
    assert reject_reason(lesson(action=text), CONFIG) is None


def test_thresholds_come_from_settings(settings):
    settings.DATASET_MIN_CHARS = 5
    settings.DEDUP_JACCARD_THRESHOLD = 0.6
    config = build_config()
    assert config["filters"]["min_chars"] == 5
    assert config["dedup"]["jaccard_threshold"] == 0.6


def test_bad_overrides_name_the_problem():
    with pytest.raises(ConfigProblem) as caught:
        build_config({"filters": {"min_chars": "ten", "max_chars": 0, "nope": 1}, "color": "red"})
    problems = " | ".join(caught.value.problems)
    assert "'filters.min_chars' must be an integer" in problems
    assert "'filters.max_chars' must be between 1" in problems
    assert "unknown setting 'filters.nope'" in problems and "unknown setting 'color'" in problems
