"""JSON API for git sources: list, register and mine repositories."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse

from accounts.api import api_view, json_error
from accounts.payloads import error_response, read_payload, validation_details
from accounts.roles import INGEST_EXPERIENCE, VIEW_DASHBOARD
from curation.models import GitRepository
from curation.payloads import RegisterRepository
from curation.services.git_mining import register_repository, request_mining
from curation.services.ingest import check_ingest


@api_view(VIEW_DASHBOARD, methods=("GET", "POST"))
def repositories(request):
    if request.method == "GET":
        return JsonResponse({"repositories": [r.to_dict() for r in GitRepository.objects.all()]})
    try:
        check_ingest(request.principal)  # the token's role too, before the body is read
    except PermissionDenied as exc:
        return json_error(f"permission denied: {exc}", 403)
    body, error = read_payload(request, RegisterRepository, what="repository")
    if error:
        return error
    try:
        repository = register_repository(body.path, user=request.user, name=body.name, branch=body.branch)
    except ValidationError as exc:
        return error_response("repository", validation_details(exc))
    return JsonResponse(repository.to_dict(), status=201)


@api_view(VIEW_DASHBOARD)
def repository(request, repository_id: int):
    found = GitRepository.objects.filter(pk=repository_id).first()
    if found is None:
        return json_error(f"no repository with id {repository_id}", 404)
    return JsonResponse(found.to_dict())


@api_view(INGEST_EXPERIENCE, methods=("POST",))
def repository_mine(request, repository_id: int):
    found = GitRepository.objects.filter(pk=repository_id).first()
    if found is None:
        return json_error(f"no repository with id {repository_id}", 404)
    try:
        request_mining(found, user=request.user)
    except ValidationError as exc:
        return error_response("mining", validation_details(exc), status=409)
    return JsonResponse(found.to_dict(), status=202)
