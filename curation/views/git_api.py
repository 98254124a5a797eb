"""JSON API for git sources: list, register and mine repositories."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse

from accounts.api import api_view, json_error, read_json
from accounts.roles import INGEST_EXPERIENCE, VIEW_DASHBOARD
from curation.models import GitRepository
from curation.services.git_mining import register_repository, request_mining
from curation.views.git_common import repository_json

_FIELDS = ("path", "name", "branch")


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def repositories(request):
    if request.method == "GET":
        return JsonResponse({"repositories": [repository_json(r) for r in GitRepository.objects.all()]})
    if not request.principal.has_perm(INGEST_EXPERIENCE):
        return json_error("permission denied: requires accounts.ingest_experience", 403)
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return error
    if not isinstance(data, dict):
        return json_error("expected a JSON object", 400, ['e.g. {"path": "/srv/code/project", "branch": "main"}'])
    problems = [f"{key}: must be a string" for key in _FIELDS if key in data and not isinstance(data[key], str)]
    problems += [f"{key}: unknown field" for key in data if key not in _FIELDS]
    if problems:
        return json_error("invalid repository", 400, problems)
    try:
        repository = register_repository(data.get("path", ""), user=request.user, name=data.get("name", ""),
                                          branch=data.get("branch", ""))
    except ValidationError as exc:
        return json_error("repository refused", 400, _details(exc))
    return JsonResponse(repository_json(repository), status=201)


@api_view(VIEW_DASHBOARD)
def repository(request, repository_id: int):
    found = GitRepository.objects.filter(pk=repository_id).first()
    if found is None:
        return json_error(f"no repository with id {repository_id}", 404)
    return JsonResponse(repository_json(found))


@api_view(INGEST_EXPERIENCE, methods=("POST",))
def repository_mine(request, repository_id: int):
    found = GitRepository.objects.filter(pk=repository_id).first()
    if found is None:
        return json_error(f"no repository with id {repository_id}", 404)
    try:
        request_mining(found, user=request.user)
    except ValidationError as exc:
        return json_error("mining not started", 409, exc.messages)
    return JsonResponse(repository_json(found), status=202)


def _details(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
    return exc.messages
