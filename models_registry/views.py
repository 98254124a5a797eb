"""Registry pages: lines, versions, genealogy, comparison, and the Admin-only actions."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.api import read_json
from accounts.roles import MANAGE_MODELS, VIEW_DASHBOARD
from jobs.panels import render_panels
from models_registry import canary_views, ollama, panels, playground, services, serving_views
from models_registry.adapters import AdapterError, local_folder
from models_registry.compare import compare_versions
from models_registry.forms import CompareForm, ReasonForm, RollbackForm, default_pair
from models_registry.genealogy import overlay, tree_layout
from models_registry.models import ModelLine, ModelVersion
from models_registry.promotion_checks import promotion_warning
from models_registry.serving.errors import openai_error
from models_registry.serving.params import InvalidRequest, parse_chat_request


def _get_line_for_user(user, name: str) -> ModelLine:
    if not user.has_perm(VIEW_DASHBOARD):
        raise PermissionDenied
    return get_object_or_404(ModelLine, name=name)


def _get_version_for_user(user, name: str, label: str) -> ModelVersion:
    line = _get_line_for_user(user, name)
    return get_object_or_404(ModelVersion.objects.select_related("line", "dataset", "training_run", "parent"),
                             line=line, label=label)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def line_list(request):
    lines = ModelLine.objects.annotate(
        version_count=Count("versions"),
        candidate_count=Count("versions", filter=Q(versions__status="candidate")))
    active = {v.line_id: v for v in ModelVersion.objects.active()}
    rows = [{"line": line, "active": active.get(line.pk)} for line in lines]
    return render(request, "models_registry/line_list.html", {"rows": rows})


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def line_detail(request, name):
    line = _get_line_for_user(request.user, name)
    versions = list(line.versions.select_related("training_run", "dataset", "parent"))
    active = next((v for v in versions if v.is_active), None)
    return render(request, "models_registry/line_detail.html", {
        "line": line, "versions": versions, "active": active, "use_it": playground.use_it(request, line, active),
        "activations": line.activations.select_related("from_version", "to_version", "created_by")[:100],
        "tree": tree_layout(versions), "can_manage": request.user.has_perm(MANAGE_MODELS),
        "previous": services.previous_version(line),
        **canary_views.panel_context(line, versions, request.user.has_perm(MANAGE_MODELS))})


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def version_detail(request, name, label):
    version = _get_version_for_user(request.user, name, label)
    groups = ("training", "eval") if panels.version_panels else ("training", "eval", "arena")
    return render(request, "models_registry/version_detail.html", {
        "version": version, "line": version.line, "can_manage": request.user.has_perm(MANAGE_MODELS),
        "metric_groups": [(g, (version.metrics or {}).get(g) or {}) for g in groups],
        "panels": render_panels(panels.version_panels, request, version),
        "use_it": playground.use_it(request, version.line, version.line.active_version(), version),
        "playground": playground.playground(version.line, version)})


@permission_required(VIEW_DASHBOARD, raise_exception=True)
@require_POST
def version_chat(request, name, label):
    """The playground's chat: /v1's body (the URL names the model) answered by this version.

    A session endpoint, so Django's CSRF check applies; the answer (OpenAI's JSON or chunks,
    and X-Academy-Version naming the version that answered) comes from the /v1 serving code.
    """
    version = _get_version_for_user(request.user, name, label)
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    if not isinstance(data, dict):
        return openai_error("the body must be a JSON object", 400)
    try:
        chat = parse_chat_request({"stream": True, **data, "model": version.line.name})
    except InvalidRequest as exc:
        return openai_error(str(exc), 400, param=exc.param, code=exc.code)
    return serving_views.respond(chat, version=version)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def version_modelfile(request, name, label):
    version = _get_version_for_user(request.user, name, label)
    try:
        text = ollama.modelfile(version, local_folder(version))  # fetched where this host lacks it
    except AdapterError as exc:
        raise Http404(f"no Modelfile for {version}: {exc}") from exc
    except ollama.OllamaRefused as exc:  # no TEMPLATE renders its training prompt: say why, do not guess
        return HttpResponse(str(exc), status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="Modelfile-{version.line.name}-{version.label}"'
    return response


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def compare(request, name):
    line = _get_line_for_user(request.user, name)
    form = CompareForm(request.GET or None, initial=default_pair(line))
    context = {"line": line, "form": form, "labels": list(line.versions.values_list("label", flat=True))}
    if form.is_valid():
        a = get_object_or_404(ModelVersion, line=line, label=form.cleaned_data["a"])
        b = get_object_or_404(ModelVersion, line=line, label=form.cleaned_data["b"])
        result = compare_versions(a, b)
        curves = {f"{a.label} {kind}": pts for kind, pts in result["curves"]["a"].items()}
        curves |= {f"{b.label} {kind}": pts for kind, pts in result["curves"]["b"].items()}
        context |= {"result": result, "chart": overlay(curves),
                    "panels": render_panels(panels.compare_panels, request, a, b)}
    return render(request, "models_registry/compare.html", context)


def _act(request, template: str, context: dict, form, action, *, confirmed: bool = True):
    """Confirmation page on GET; on a valid, confirmed POST call the service and go back to the line."""
    if request.method == "POST" and confirmed and form.is_valid():
        try:
            message = action(form.cleaned_data)
        except services.RegistryError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, message)
            return redirect("line_detail", name=context["line"].name)
    return render(request, template, {**context, "form": form})


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def promote(request, name, label):
    version = _get_version_for_user(request.user, name, label)
    current = version.line.active_version()

    def action(data):
        services.promote_version(version, request.user, data["reason"])
        return f"{version} is now active" + (f" (was {current.label})" if current else "")

    # Only the confirmation page's own button carries confirm=yes: any other POST gets the page first.
    confirmed = request.POST.get("confirm") == "yes"
    return _act(request, "models_registry/confirm_promote.html",
                {"line": version.line, "version": version, "current": current,
                 "warning": promotion_warning(version, current)},
                ReasonForm(request.POST if confirmed else None), action, confirmed=confirmed)


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def rollback(request, name):
    line = _get_line_for_user(request.user, name)
    form = RollbackForm(request.POST or None, line=line, initial={"to": request.GET.get("to", "")})
    target_label = (request.POST.get("to") or request.GET.get("to") or "").strip()
    target = line.versions.filter(label=target_label).first() if target_label else services.previous_version(line)

    def action(data):
        to = None
        if data["to"]:
            to = line.versions.filter(label=data["to"]).first()
            if to is None:
                raise services.RegistryError(f"line {line.name} has no version {data['to']}")
        activation = services.rollback_line(line, request.user, data["reason"], to_version=to)
        return f"rolled back {line.name} to {activation.to_version.label}"

    return _act(request, "models_registry/confirm_rollback.html",
                {"line": line, "current": line.active_version(), "target": target}, form, action)


@permission_required(MANAGE_MODELS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def archive(request, name, label):
    version = _get_version_for_user(request.user, name, label)

    def action(data):
        services.archive_version(version, request.user)
        return f"{version} archived"

    form = forms.Form(request.POST if request.method == "POST" else None)  # nothing to fill in: just confirm
    return _act(request, "models_registry/confirm_archive.html", {"line": version.line, "version": version},
                form, action)
