"""Every near-duplicate threshold the build form allows works (0.99 crashed datasketch's LSH
parameter search), and a build that does crash stores one plain line; the traceback goes to the log."""

import logging

import pytest
from datasketch import MinHashLSH

from curation.models import DatasetBuild
from curation.pipeline.config import build_config
from curation.pipeline.dedup import lsh_params, near_dedup
from curation.pipeline.example import Example
from curation.services.datasets import run_build, start_build
from jobs.models import JobStatus
from tests.curation.factories import make_lesson


def _example(n: int, text: str) -> Example:
    return Example(kind="lesson", id=n, ref=str(n), occurred_at=float(n), instruction=text, output="done")


@pytest.mark.parametrize("threshold, num_perm", [(0.99, 128), (1.0, 128), (0.9, 16), (0.99, 1024), (0.05, 16)])
def test_lsh_parameters_exist_for_every_allowed_threshold(threshold, num_perm):
    bands, rows = lsh_params(threshold, num_perm)
    assert bands >= 2 and bands * rows <= num_perm
    MinHashLSH(num_perm=num_perm, params=(bands, rows))  # what datasketch itself refused at 0.99


def test_they_match_datasketchs_own_choice_where_it_has_one():
    for threshold, num_perm in [(0.5, 128), (0.8, 128), (0.9, 128), (0.95, 256)]:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert lsh_params(threshold, num_perm) == (lsh.b, lsh.r)


def test_near_dedup_at_0_99_drops_only_near_identical_texts():
    words = " ".join(f"word{i}" for i in range(300))
    examples = [_example(1, words), _example(2, words + " extra"), _example(3, "something else entirely here")]
    kept, dropped = near_dedup(examples, threshold=0.99, num_perm=1024, shingle_words=1)
    assert [e.id for e in kept] == [3, 2] and [(e.id, reason) for e, reason, _ in dropped] == [(1, "near_duplicate")]
    kept, dropped = near_dedup(examples, threshold=1.0, num_perm=128, shingle_words=3)
    assert len(kept) == 3 and not dropped


@pytest.mark.django_db
@pytest.mark.parametrize("in_process", [True, False])
def test_a_dataset_build_with_threshold_0_99_succeeds(settings, in_process):
    settings.DATASET_PIPELINE_PROCESS = in_process
    make_lesson()
    make_lesson()
    build = start_build(None, name="strict", format="alpaca", overrides={"dedup": {"jaccard_threshold": 0.99}},
                        queue=False)
    build = run_build(build.pk)
    assert build.status == JobStatus.SUCCEEDED, build.error
    assert build.config["dedup"]["jaccard_threshold"] == 0.99


@pytest.mark.django_db
def test_a_crash_in_the_pipeline_process_stores_one_plain_line_and_logs_the_traceback(settings, caplog):
    settings.DATASET_PIPELINE_PROCESS = True
    make_lesson()
    build = start_build(None, name="broken", format="alpaca", queue=False)
    config = build_config({})
    del config["dedup"]  # a stored config the pipeline cannot read: the child raises KeyError
    DatasetBuild.objects.filter(pk=build.pk).update(config=config)
    with caplog.at_level(logging.ERROR, logger="curation.services.datasets"):
        build = run_build(build.pk)
    assert build.status == JobStatus.FAILED
    assert "Traceback" not in build.error and "\n" not in build.error and "KeyError" in build.error
    assert build.human_error == "the build failed on an internal error; see the error details"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "in the pipeline process:\nTraceback" in logged
