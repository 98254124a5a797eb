from curation.management.commands._ingest_command import IngestCommand
from curation.services.ingest import ingest_conversations


class Command(IngestCommand):
    help = ("Import task conversations from a JSON/JSONL file. Failed tasks and conversations without "
            "a user and an assistant turn are skipped with a reason; any invalid record imports nothing.")
    ingest = staticmethod(ingest_conversations)
    noun = "tasks"
