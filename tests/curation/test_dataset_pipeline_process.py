"""In embedded mode a dataset build computes its CPU stages in a child process."""

import os

import pytest

from curation.models import DatasetBuild
from curation.pipeline import isolated
from curation.pipeline.config import build_config
from curation.pipeline.example import Example
from curation.pipeline.runner import EmptyDatasetError, run_pipeline
from curation.services.datasets import run_build, start_build
from tests.curation.factories import make_lesson

SECRET = "ghp_R4nD0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy"


def _examples(count=30):
    return [Example(kind="lesson", id=n, ref=str(n), occurred_at=float(n),
                    instruction=f"Situation {n}: the deploy of service number {n} failed on a stale cache",
                    output=f"Action {n}: cleared cache {n * 7} and redeployed with token {SECRET}")
            for n in range(count)]


def test_the_child_gives_the_same_result_as_running_in_this_process():
    config = build_config({})
    here = run_pipeline(_examples(), config)
    seen = []
    there = isolated.run_pipeline_in_process(_examples(), config, progress=seen.append)
    assert [(e.id, e.output, e.split) for e in there.examples] == [(e.id, e.output, e.split) for e in here.examples]
    assert there.funnel == here.funnel and there.stats == here.stats
    assert SECRET not in repr(there.examples) and seen and max(seen) > 0.3


def test_an_empty_dataset_is_reported_with_its_stage():
    config = build_config({"filters": {"min_chars": 30_000, "max_chars": 40_000}})
    with pytest.raises(EmptyDatasetError) as caught:
        isolated.run_pipeline_in_process(_examples(3), config)
    assert caught.value.stage == "filters" and caught.value.funnel


def test_a_cancelled_build_ends_the_child(monkeypatch):
    children = []
    process_class = isolated._context().Process
    real_start = process_class.start

    def start(self):
        children.append(self)
        return real_start(self)

    monkeypatch.setattr(process_class, "start", start)

    class Cancelled(Exception):
        pass

    def progress(fraction):
        raise Cancelled

    with pytest.raises(Cancelled):
        isolated.run_pipeline_in_process(_examples(2000), build_config({}), progress=progress)
    assert children and not children[0].is_alive() and children[0].pid != os.getpid()


@pytest.mark.django_db
def test_a_build_in_embedded_mode_runs_its_pipeline_in_a_child(settings):
    settings.DATASET_PIPELINE_PROCESS = True
    make_lesson("Deploy failed with the stale cache of the builder", f"Cleared it; used token {SECRET} to push")
    make_lesson()
    build = run_build(start_build(None, name="p", format="alpaca", queue=False).pk)
    assert build.status == "succeeded", build.error
    content = (settings.DATA_DIR / build.snapshot.path).read_text()
    assert SECRET not in content and "[REDACTED:github_token]" in content
    assert DatasetBuild.objects.get(pk=build.pk).progress == 1.0
