"""manage.py mine_git PATH [--branch B]: register the repository if needed and mine it now."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from curation.models import GitRepository, MiningStatus
from curation.services.git_mining import find_repository, register_repository, run_mining

_NOT_RUNNING = (MiningStatus.IDLE, MiningStatus.QUEUED, MiningStatus.SUCCEEDED, MiningStatus.FAILED)


class Command(BaseCommand):
    help = "Mine a git repository (under GIT_ALLOWED_ROOTS) into commit examples, synchronously."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Top folder of the repository.")
        parser.add_argument("--branch", default=None, help="Branch to mine (default: the registered one, or HEAD).")
        parser.add_argument("--name", default="", help="Display name when registering.")

    def handle(self, *args, path, branch, name, **options):
        repository = self._repository(path, branch, name)
        stats = run_mining(repository.pk, claim_from=_NOT_RUNNING)
        repository.refresh_from_db()
        if stats is None:
            if repository.status == MiningStatus.FAILED:
                raise CommandError(f"mining failed: {repository.error}")
            raise CommandError(f"{repository.name} is being mined by another worker; try again later")
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
