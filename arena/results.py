"""What pages and the JSON API show of evaluations: category tables, chart data, question pairs."""

from arena.models import Evaluation, EvaluationItem
from jobs.models import JobStatus
from models_registry.compare import compare_versions


def latest_evaluation(version):
    return Evaluation.objects.filter(candidate=version).select_related("against", "exam", "holdout").first()


def evaluation_between(a, b):
    """The newest finished evaluation of b against a (or a against b); None if they were never compared."""
    return (Evaluation.objects.filter(status=JobStatus.SUCCEEDED, candidate=b, against=a).first()
            or Evaluation.objects.filter(status=JobStatus.SUCCEEDED, candidate=a, against=b).first())


def category_rows(verdict: dict) -> list[dict]:
    rows = []
    for name, numbers in sorted((verdict.get("categories") or {}).items()):
        diff = numbers.get("difference") or {}
        rows.append({"name": name, "n": numbers.get("n"), "candidate_loss": numbers.get("candidate_loss"),
                     "against_loss": numbers.get("against_loss"), "mean": diff.get("mean"), "low": diff.get("low"),
                     "high": diff.get("high"), "candidate_pass_rate": numbers.get("candidate_pass_rate"),
                     "against_pass_rate": numbers.get("against_pass_rate"), "worse": numbers.get("worse"),
                     "tolerance": numbers.get("tolerance"), "shown_worse": numbers.get("shown_worse"),
                     "guarded": numbers.get("guarded"), "note": numbers.get("note")})
    return rows


def chart_data(verdict: dict) -> dict:
    """Per-category mean losses of both models (a grouped bar chart)."""
    rows = category_rows(verdict)
    return {"categories": [r["name"] for r in rows],
            "candidate": {"name": verdict.get("candidate"), "loss": [r["candidate_loss"] for r in rows]},
            "against": {"name": verdict.get("against"), "loss": [r["against_loss"] for r in rows]}}


def question_rows(evaluation, limit: int = 500) -> list[dict]:
    items = EvaluationItem.objects.filter(evaluation=evaluation).order_by("kind", "category", "key")[:limit]
    return [{"kind": i.kind, "key": i.key, "category": i.category,
             "prompt": "\n".join(f"{m['role']}: {m['content']}" for m in i.messages), "reference": i.reference,
             "candidate_answer": i.candidate_answer, "against_answer": i.against_answer,
             "candidate_loss": i.candidate_loss, "against_loss": i.against_loss,
             "candidate_passed": i.candidate_passed, "against_passed": i.against_passed,
             "candidate_f1": i.candidate_f1, "against_f1": i.against_f1, "difference": i.difference,
             "check_detail": i.check_detail}
            for i in items]


def comparison_dict(line, a, b) -> dict:
    """Versions a (baseline) and b of `line` side by side: registry metrics and dataset, then the Arena's side."""
    result = compare_versions(a, b)
    return {"line": line.name, "a": a.label, "b": b.label, "metrics": result["metrics"],
            "dataset": result["dataset"], "arena": compare_payload(a, b)}


def compare_payload(a, b) -> dict:
    """Arena side of comparing versions a (baseline) and b: one evaluation between them if any, else each verdict."""
    between = evaluation_between(a, b)
    if between is not None:
        return {"evaluation": between.pk, "same_evaluation": True, "verdict": between.verdict,
                "categories": category_rows(between.verdict), "questions": question_rows(between)}
    verdicts = {v.label: (v.metrics or {}).get("arena") or {} for v in (a, b)}
    exams = {label: (verdict.get("exam") or {}).get("version") for label, verdict in verdicts.items()}
    holdouts = {label: (verdict.get("holdout") or {}).get("version") for label, verdict in verdicts.items()}
    comparable = len(set(exams.values())) == 1 and len(set(holdouts.values())) == 1 and None not in exams.values()
    return {"evaluation": None, "same_evaluation": False, "verdicts": verdicts, "exam_versions": exams,
            "holdout_versions": holdouts, "comparable": comparable}


def checks_note(verdict: dict) -> str:
    """Plain words for an exam whose checks no model passed (0% -> 0%): they could not tell the models apart."""
    for reason in verdict.get("reasons") or []:
        if reason.startswith("the checks cannot tell the models apart"):
            return reason[0].upper() + reason[1:] + "."
    exam = verdict.get("metrics") or {}
    if exam.get("checked") and not exam.get("passes"):
        return (f"The checks cannot tell the models apart: neither {verdict.get('candidate')} nor "
                f"{verdict.get('against')} passed any of the {exam['checked']} checks, so the reference loss "
                "decides alone.")
    return ""
