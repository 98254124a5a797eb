import json

from django import forms
from django.conf import settings


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
