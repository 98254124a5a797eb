from curation.management.commands._ingest_command import IngestCommand
from curation.services.ingest import ingest_lessons


class Command(IngestCommand):
    help = ("Import lessons from a JSON/JSONL file (our schema or a LessonsStore export). "
            "Re-importing creates nothing new; any invalid record imports nothing.")
    ingest = staticmethod(ingest_lessons)
    noun = "lessons"
