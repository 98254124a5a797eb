"""What the git pages and the git API share: object access and the JSON shape of a repository."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.roles import VIEW_DASHBOARD
from curation.models import GitRepository


def _get_repository_for_user(user, repository_id: int, perm: str = VIEW_DASHBOARD) -> GitRepository:
    if not user.has_perm(perm):
        raise PermissionDenied
    repository = GitRepository.objects.filter(pk=repository_id).first()
    if repository is None:
        raise Http404("No such repository.")
    return repository
