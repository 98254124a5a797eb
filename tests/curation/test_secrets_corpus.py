"""The detector on the labelled corpus: every secret shape caught, every look-alike untouched."""

import pytest

from curation.secrets import find_secrets, scrub
from tests.curation.secrets_corpus import BENIGN, SECRETS, evaluate


def test_the_corpus_is_big_enough():
    assert len(SECRETS) >= 60 and len(BENIGN) >= 60


@pytest.mark.parametrize(("kind", "text", "secret"), SECRETS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(SECRETS)])
def test_each_secret_shape_is_redacted_with_its_kind(kind, text, secret):
    result = scrub(text)
    assert secret not in result.text
    assert f"[REDACTED:{kind}]" in result.text
    assert result.counts[kind] >= 1


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_engineering_text_passes_untouched(text):
    assert scrub(text).text == text


def test_recall_and_precision_per_kind_are_reported_and_complete():
    report = evaluate(lambda text: [(f.kind, f.start, f.end) for f in find_secrets(text)])
    print("recall by kind:", report["recall_by_kind"])
    print("precision by kind:", report["precision_by_kind"])
    assert report["recall"] == 1.0
    assert report["benign_touched"] == 0
    assert min(report["precision_by_kind"].values()) == 1.0


def test_scrubbing_twice_changes_nothing():
    for _, text, _ in SECRETS:
        once = scrub(text)
        twice = scrub(once.text)
        assert twice.text == once.text
        assert twice.findings == ()


def test_marker_positions_point_at_the_markers():
    result = scrub("user=app password=Tr0ub4dor3 token=ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy done")
    assert [result.text[f.start:f.end] for f in result.findings] == [
        "[REDACTED:password]", "[REDACTED:github_token]"]
