"""What curation contributes to the Overview: its steps of the loop and what waits for a reviewer."""

from django.urls import reverse

from curation.models import CommitExample, Conversation, DatasetSnapshot, Lesson


def steps() -> list[dict]:
    reviewed = any(model.objects.exclude(reviewed_by=None).exists() for model in (Lesson, Conversation, CommitExample))
    snapshot = DatasetSnapshot.objects.order_by("-created_at").first()
    return [
        {"order": 10, "key": "review", "label": "Review lessons", "done": reviewed, "url": reverse("lesson_list"),
         "hint": "Approve what the agent should learn, reject the rest (keys a / r)."},
        {"order": 20, "key": "dataset", "label": "Build a dataset", "done": snapshot is not None,
         "url": reverse("dataset_detail", args=[snapshot.sha256]) if snapshot else reverse("dataset_build_new"),
         "hint": "Approved records pass secret scrubbing, filters and dedup into a snapshot."},
    ]


def waiting() -> list[dict]:
    url = reverse("lesson_list")
    items = [("Lessons", "Lesson", Lesson.objects.pending().count()),
             ("Task conversations", "Task conversation", Conversation.objects.pending().count()),
             ("Commit examples", "Commit example", CommitExample.objects.pending().count())]
    return [{"label": f"{many} awaiting review", "label_one": f"{one} awaiting review", "value": value, "url": url}
            for many, one, value in items if value]
