from django.apps import AppConfig
from django.urls import NoReverseMatch, reverse


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _scrub_job_text(text: str) -> str:
    from curation.secrets import scrub_text

    return scrub_text(text)[0]


class CurationConfig(AppConfig):
    name = "curation"
    verbose_name = "Curation"

    def ready(self):
        from jobs import lifecycle

        # Every job's stored error passes the scrubber (jobs sits below curation and cannot import it).
        if _scrub_job_text not in lifecycle.text_scrubbers:
            lifecycle.text_scrubbers.append(_scrub_job_text)

    def overview_counts(self):
        from curation.models import CommitExample, Conversation, DatasetSnapshot, Lesson

        return [
            {"key": "lessons_pending", "label": "Lessons awaiting review", "value": Lesson.objects.pending().count(),
             "url": _url("lesson_list")},
            {"key": "lessons_approved", "label": "Approved lessons", "value": Lesson.objects.approved().count(),
             "url": _url("lesson_list")},
            {"key": "conversations", "label": "Task conversations", "value": Conversation.objects.count(),
             "url": _url("lesson_list")},
            {"key": "commit_examples", "label": "Commit examples", "value": CommitExample.objects.count(),
             "url": _url("repository_list")},
            {"key": "datasets", "label": "Dataset snapshots", "value": DatasetSnapshot.objects.count(),
             "url": _url("dataset_list")},
        ]

    def overview_steps(self):
        from curation.overview import steps

        return steps()

    def overview_waiting(self):
        from curation.overview import waiting

        return waiting()
