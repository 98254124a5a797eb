"""Curation forms: review (upload, edits), git sources, dataset builds."""

import json

from django import forms
from django.conf import settings

from curation.models import CommitExample, Conversation, DatasetFormat, Lesson
from curation.pipeline.config import defaults


# ---------------------------------------------------------------------------- review
class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=[("lessons", "Lessons (our schema or a LessonsStore export)"),
                                      ("tasks", "Task history (conversations)")])
    file = forms.FileField(help_text="JSON (one object, a list, or an envelope) or JSONL, UTF-8.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.API_MAX_BODY_BYTES:
            raise forms.ValidationError(f"the file is {upload.size} bytes; at most {settings.API_MAX_BODY_BYTES}")
        return upload


class LessonEditForm(forms.Form):
    situation = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), strip=False)
    action = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), strip=False)
    result = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, strip=False)
    feedback = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, strip=False)


class ConversationEditForm(forms.Form):
    messages = forms.CharField(widget=forms.Textarea(attrs={"rows": 18, "class": "mono"}),
                               help_text='A JSON list of {"role": "system|user|assistant", "content": "..."}.')

    def clean_messages(self):
        try:
            value = json.loads(self.cleaned_data["messages"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(value, list):
            raise forms.ValidationError("must be a JSON list of messages")
        return value


# ---------------------------------------------------------------------------- git
class RepositoryForm(forms.Form):
    path = forms.CharField(max_length=1000, help_text="Top folder of a git repository under an allowed root.")
    name = forms.CharField(max_length=200, required=False, help_text="Optional; defaults to the folder name.")
    branch = forms.CharField(max_length=200, required=False, help_text="Optional; empty mines the checked-out HEAD.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        roots = [str(root) for root in settings.GIT_ALLOWED_ROOTS]
        allowed = ", ".join(roots) if roots else "none (set GIT_ALLOWED_ROOTS)"
        self.fields["path"].help_text = (f"Top folder of a git repository. Allowed roots: {allowed}. "
                                         "A folder inside a repository is refused with its top folder named.")
        if roots:
            self.fields["path"].widget.attrs["placeholder"] = str(settings.GIT_ALLOWED_ROOTS[0] / "my-project")


# ---------------------------------------------------------------------------- datasets
SOURCE_CHOICES = [("lessons", "Lessons"), ("commits", "Git commits"), ("conversations", "Task conversations")]


class DatasetBuildForm(forms.Form):
    name = forms.CharField(max_length=200)
    sources = forms.MultipleChoiceField(choices=SOURCE_CHOICES, widget=forms.CheckboxSelectMultiple)
    format = forms.ChoiceField(choices=DatasetFormat.choices)
    min_chars = forms.IntegerField(min_value=0, required=False, label="Minimum characters")
    max_chars = forms.IntegerField(min_value=1, required=False, label="Maximum characters")
    drop_failed = forms.BooleanField(required=False, initial=True, label="Drop failed outcomes")
    secrets_mode = forms.ChoiceField(choices=[("redact", "Redact secrets"), ("drop", "Drop examples with secrets")])
    jaccard_threshold = forms.FloatField(min_value=0.05, max_value=1.0, required=False,
                                         label="Near-duplicate Jaccard threshold")
    eval_fraction = forms.FloatField(min_value=0.0, max_value=0.9, required=False, label="Eval fraction")
    seed = forms.IntegerField(min_value=0, required=False)
    cap_lessons = forms.IntegerField(min_value=0, required=False, label="Lessons: at most")
    cap_commits = forms.IntegerField(min_value=0, required=False, label="Git commits: at most")
    cap_conversations = forms.IntegerField(min_value=0, required=False, label="Task conversations: at most")
    weight_lessons = forms.FloatField(min_value=0, max_value=1000, required=False, label="Lessons weight")
    weight_commits = forms.FloatField(min_value=0, max_value=1000, required=False, label="Git commits weight")
    weight_conversations = forms.FloatField(min_value=0, max_value=1000, required=False,
                                            label="Task conversations weight")
    min_reviewed_share = forms.FloatField(min_value=0, max_value=0.99, required=False,
                                          label="Lessons + conversations at least (share)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = defaults()
        self.fields["sources"].initial = config["sources"]
        self.fields["min_chars"].initial = config["filters"]["min_chars"]
        self.fields["max_chars"].initial = config["filters"]["max_chars"]
        self.fields["drop_failed"].initial = config["filters"]["drop_failed"]
        self.fields["secrets_mode"].initial = config["secrets_mode"]
        self.fields["jaccard_threshold"].initial = config["dedup"]["jaccard_threshold"]
        self.fields["eval_fraction"].initial = config["split"]["eval_fraction"]
        self.fields["seed"].initial = config["split"]["seed"]
        self.fields["min_reviewed_share"].initial = config["mix"]["min_reviewed_share"]
        self.approved_counts = approved_counts()
        self.fields["sources"].choices = [(key, f"{label} ({self.approved_counts[key]} approved)")
                                          for key, label in SOURCE_CHOICES]

    def overrides(self) -> dict:
        """The pipeline overrides in the shape `build_config` takes; empty fields keep the defaults."""
        data = self.cleaned_data
        overrides = {"sources": data["sources"], "secrets_mode": data["secrets_mode"],
                     "filters": {"drop_failed": data["drop_failed"]}, "dedup": {}, "split": {}}
        for key, section in (("min_chars", "filters"), ("max_chars", "filters"),
                             ("jaccard_threshold", "dedup"), ("eval_fraction", "split"), ("seed", "split")):
            if data.get(key) is not None:
                overrides[section][key] = data[key]
        mix = {"caps": {}, "weights": {}}
        for source, _label in SOURCE_CHOICES:
            mix["caps"][source] = data.get(f"cap_{source}") or 0
            mix["weights"][source] = data.get(f"weight_{source}") or 0
        if data.get("min_reviewed_share") is not None:
            mix["min_reviewed_share"] = data["min_reviewed_share"]
        overrides["mix"] = mix
        return overrides

    def mix_rows(self) -> list[dict]:
        """Per source: approved count, cap field and weight field (for the template)."""
        return [{"label": label, "count": self.approved_counts[key], "cap": self[f"cap_{key}"],
                 "weight": self[f"weight_{key}"]} for key, label in SOURCE_CHOICES]


def approved_counts() -> dict[str, int]:
    return {"lessons": Lesson.objects.approved().count(), "commits": CommitExample.objects.approved().count(),
            "conversations": Conversation.objects.approved().count()}
