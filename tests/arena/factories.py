"""Arena test data: a small exam, trained toy adapters (built once per process), evaluations."""

import functools
import itertools
import json
import shutil
from pathlib import Path

from django.conf import settings

from arena.exams import save_exam
from arena.models import Decision, Evaluation
from curation.models import DatasetSnapshot
from jobs.models import JobStatus

_seq = itertools.count(1)

DOMAIN_QUESTIONS = ["How do I list files?", "List the files here.", "Show me the files.",
                    "Which command lists a folder?", "What shows the files in this directory?",
                    "How can I see what is in this folder?"]
ANSWER = "Use ls to list the files."
# Planted bad answers: the same prompts answered with unrelated text.
UNRELATED = ["The harbour lights dim at dawn.", "Bread rises slowly in a cold kitchen.",
             "Seven geese crossed the grey river.", "A violin waits in its velvet case."]


def exam_items(count: int = 6) -> list[dict]:
    """In-domain questions in two categories, each answered by ANSWER and checked for `ls`."""
    return [{"id": f"q{i}", "category": "files" if i % 2 else "folders",
             "prompt": f"{DOMAIN_QUESTIONS[i % len(DOMAIN_QUESTIONS)]} (exam {i})", "reference": ANSWER,
             "check": {"type": "contains", "value": "ls"}} for i in range(count)]


def make_exam(line, count: int = 6):
    exam, _ = save_exam(line, exam_items(count), source="test")
    return exam


def training_rows(kind: str, count: int = 24) -> list[dict]:
    rows = []
    for i in range(count):
        answer = ANSWER if kind == "domain" else UNRELATED[i % len(UNRELATED)]
        question = f"{DOMAIN_QUESTIONS[i % len(DOMAIN_QUESTIONS)]} #{i}"
        rows.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
                     "split": "eval" if i % 6 == 5 else "train",
                     "source": {"kind": "lesson", "id": 100_000 + i, "ref": f"T{i}"}})
    return rows


@functools.cache
def trained_adapter(kind: str) -> tuple[Path, Path]:
    """(adapter folder, snapshot file) of a toy adapter trained on `kind` ("domain" or "unrelated") rows."""
    from tests.training.trainer_fixtures import _scratch, run_trainer, toy_model, write_snapshot, write_spec

    folder = _scratch() / f"arena-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    dataset = write_snapshot(folder, training_rows(kind))
    spec = write_spec(folder, toy_model(), dataset, folder / "out", max_steps=24, eval_every_steps=8,
                      learning_rate=0.03)
    code, _, stderr = run_trainer(spec)
    assert code == 0, stderr[-2000:]
    return folder / "out" / "adapter", dataset


def register_trained(line_name: str, kind: str):
    """A candidate version of `line_name` made from the cached trained adapter, as a run would register it."""
    from models_registry.services import register_run_version
    from training.models import TrainingRun

    adapter, snapshot_file = trained_adapter(kind)
    n = next(_seq)
    run_dir = f"runs/arena-{kind}-{n}"
    shutil.copytree(adapter, Path(settings.DATA_DIR) / run_dir / "adapter")
    datasets = Path(settings.DATA_DIR) / "datasets"
    datasets.mkdir(exist_ok=True)
    shutil.copy(snapshot_file, datasets / f"{kind}-{n}.jsonl")
    snapshot = DatasetSnapshot.objects.create(
        name=kind, sha256=f"{n:064d}", format="messages", path=f"datasets/{kind}-{n}.jsonl", row_count=24,
        train_count=20, eval_count=4)
    run = TrainingRun.objects.create(dataset=snapshot, base_model=str(_base()), run_dir=run_dir,
                                     status="succeeded", hyperparameters={"model_line": line_name})
    return register_run_version(run)


def _base() -> Path:
    from tests.training.trainer_fixtures import toy_model

    return toy_model()


def make_line_on_toy(name="toy-coder"):
    from models_registry.models import ModelLine

    return ModelLine.objects.create(name=name, base_model=str(_base()))


def make_evaluation(candidate, against=None, *, decision=Decision.PROMOTE, exam=None) -> Evaluation:
    """A finished evaluation with a verdict, without running a model (for policy and role tests)."""
    exam = exam or make_exam(candidate.line)
    verdict = {"decision": decision, "candidate": candidate.label, "against": against.label if against else "base",
               "metrics": {"difference": {"mean": 0.5, "low": 0.2, "high": 0.8, "n": 6}},
               "categories": {}, "reasons": [f"planted {decision}"]}
    evaluation = Evaluation.objects.create(line=candidate.line, candidate=candidate, against=against, exam=exam,
                                           status=JobStatus.SUCCEEDED, progress=1.0, verdict=verdict,
                                           decision=decision)
    metrics = dict(candidate.metrics or {})
    metrics["arena"] = verdict
    type(candidate).objects.filter(pk=candidate.pk).update(metrics=metrics)
    candidate.refresh_from_db()
    return evaluation


def verdict_from_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])
