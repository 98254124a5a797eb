"""The Arena's sections of the registry's version and compare pages (registered in ArenaConfig.ready)."""

from django.template.loader import render_to_string

from accounts.roles import MANAGE_MODELS, OPERATE_TRAINING
from arena import results
from arena.models import Evaluation


def version_panel(request, version) -> str:
    evaluation = results.latest_evaluation(version)
    verdict = (version.metrics or {}).get("arena") or {}
    shown = None
    if verdict.get("evaluation"):
        shown = Evaluation.objects.filter(pk=verdict["evaluation"]).first()
    return render_to_string("arena/_version_panel.html", {
        "version": version, "line": version.line, "evaluation": evaluation, "verdict": verdict,
        "categories": results.category_rows(verdict), "chart": results.chart_data(verdict) if verdict else None,
        "can_evaluate": request.user.has_perm(OPERATE_TRAINING), "can_manage": request.user.has_perm(MANAGE_MODELS),
        "labels": list(version.line.versions.exclude(pk=version.pk).values_list("label", flat=True)),
        "questions": results.question_rows(shown) if shown else [],
    }, request=request)


def compare_panel(request, a, b) -> str:
    payload = results.compare_payload(a, b)
    chart = results.chart_data(payload["verdict"]) if payload["same_evaluation"] else None
    return render_to_string("arena/_compare_panel.html", {"a": a, "b": b, "arena": payload, "chart": chart,
                                                          "line": a.line}, request=request)
