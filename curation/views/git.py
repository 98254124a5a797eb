"""Pages for git sources: list and register repositories, start a mining, browse examples."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.roles import INGEST_EXPERIENCE, VIEW_DASHBOARD
from curation.forms import RepositoryForm
from curation.models import GitRepository, MiningJob
from curation.services.git_mining import register_repository, request_mining
from curation.views.git_common import _get_repository_for_user

EXAMPLES_PER_PAGE = 25


def _repositories():
    """Repositories with their example count and newest mining (two queries)."""
    repositories = list(GitRepository.objects.annotate(example_count=Count("examples")))
    newest = {}
    for mining in MiningJob.objects.filter(repository__in=repositories).order_by("repository_id", "-created_at",
                                                                                 "-id"):
        newest.setdefault(mining.repository_id, mining)
    for repository in repositories:
        repository.mining = newest.get(repository.pk)
    return repositories


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def repository_list(request):
    return render(request, "curation/git/repository_list.html",
                  {"repositories": _repositories(), "form": RepositoryForm()})


@require_POST
@permission_required(INGEST_EXPERIENCE, raise_exception=True)
def repository_register(request):
    form = RepositoryForm(request.POST)
    if form.is_valid():
        try:
            repository = register_repository(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Repository {repository.name} registered. Mine it when ready.")
            return redirect("repository_detail", repository.pk)
    return render(request, "curation/git/repository_list.html",
                  {"repositories": _repositories(), "form": form}, status=400)


@require_POST
@permission_required(INGEST_EXPERIENCE, raise_exception=True)
def repository_mine(request, repository_id: int):
    repository = _get_repository_for_user(request.user, repository_id, INGEST_EXPERIENCE)
    try:
        request_mining(repository, user=request.user)
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Mining of {repository.name} queued.")
    return redirect("repository_detail", repository.pk)


@permission_required(VIEW_DASHBOARD, raise_exception=True)
def repository_detail(request, repository_id: int):
    repository = _get_repository_for_user(request.user, repository_id)
    examples = repository.examples.all()
    kind = request.GET.get("type", "")
    if kind:
        examples = examples.filter(commit_type=kind)
    page = Paginator(examples, EXAMPLES_PER_PAGE).get_page(request.GET.get("page"))
    mining = repository.latest_mining
    stats = mining.stats if mining else {}
    return render(request, "curation/git/repository_detail.html", {
        "repository": repository, "mining": mining, "stats": stats, "page": page, "type": kind,
        "skipped": sorted((stats.get("skipped") or {}).items()),
        "files_skipped": sorted((stats.get("files_skipped") or {}).items()),
    })
