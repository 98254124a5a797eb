"""manage.py mine_git PATH [--branch B]: register the repository if needed and mine it now."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation.models import GitRepository, MiningJob
from curation.services.git_mining import find_repository, register_repository, request_mining, run_mining
from jobs.models import JobStatus


class Command(BaseCommand):
    help = "Mine a git repository (under GIT_ALLOWED_ROOTS) into commit examples, synchronously."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Top folder of the repository.")
        parser.add_argument("--branch", default=None, help="Branch to mine (default: the registered one, or HEAD).")
        parser.add_argument("--name", default="", help="Display name when registering.")

    def handle(self, *args, path, branch, name, **options):
        repository = self._repository(path, branch, name)
        try:
            mining = request_mining(repository, queue=False)
        except ValidationError as exc:
            raise CommandError(f"{' '.join(exc.messages)}; try again later") from None
        stats = run_mining(mining.pk, worker="manage.py mine_git")
        mining = MiningJob.objects.get(pk=mining.pk)
        if stats is None:
            if mining.status == JobStatus.FAILED:
                raise CommandError(f"mining failed: {mining.error}")
            raise CommandError(f"mining of {repository.name} ended {mining.status}")
        self.stdout.write(f"{repository.name}: {stats['commits_seen']} commits read, {stats['kept']} kept, "
                          f"{stats['truncated']} diffs capped")
        for reason, count in sorted(stats["skipped"].items()):
            self.stdout.write(f"  skipped {reason}: {count}")
        for reason, count in sorted(stats["files_skipped"].items()):
            self.stdout.write(f"  files left out ({reason}): {count}")

    def _repository(self, path: str, branch: str | None, name: str) -> GitRepository:
        try:
            repository = find_repository(path)
            if repository is None:
                return register_repository(path, name=name, branch=branch or "")
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if branch is not None and branch != repository.branch:
            raise CommandError(f"{repository.path} is registered for branch {repository.branch or 'HEAD'!r}; "
                               "change it in the admin first")
        return repository
