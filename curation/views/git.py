"""Pages for git sources: list and register repositories, start a mining, browse examples."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from curation.models import GitRepository
from curation.services.git_mining import register_repository, request_mining
from curation.views.git_common import _get_repository_for_user
from curation.views.git_forms import RepositoryForm

EXAMPLES_PER_PAGE = 25


@permission_required("accounts.view_dashboard", raise_exception=True)
def repository_list(request):
    repositories = GitRepository.objects.annotate(example_count=Count("examples"))
    return render(request, "curation/git/repository_list.html",
                  {"repositories": repositories, "form": RepositoryForm()})


@require_POST
@permission_required("accounts.ingest_experience", raise_exception=True)
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
    repositories = GitRepository.objects.annotate(example_count=Count("examples"))
    return render(request, "curation/git/repository_list.html",
                  {"repositories": repositories, "form": form}, status=400)


@require_POST
@permission_required("accounts.ingest_experience", raise_exception=True)
def repository_mine(request, repository_id: int):
    repository = _get_repository_for_user(request.user, repository_id, "accounts.ingest_experience")
    try:
        request_mining(repository)
    except ValidationError as exc:
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Mining of {repository.name} queued.")
    return redirect("repository_detail", repository.pk)


@permission_required("accounts.view_dashboard", raise_exception=True)
def repository_detail(request, repository_id: int):
    repository = _get_repository_for_user(request.user, repository_id)
    examples = repository.examples.all()
    kind = request.GET.get("type", "")
    if kind:
        examples = examples.filter(commit_type=kind)
    page = Paginator(examples, EXAMPLES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "curation/git/repository_detail.html", {
        "repository": repository, "page": page, "type": kind,
        "skipped": sorted((repository.stats.get("skipped") or {}).items()),
        "files_skipped": sorted((repository.stats.get("files_skipped") or {}).items()),
    })
