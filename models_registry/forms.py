from django import forms

from models_registry import services
from models_registry.models import VersionStatus


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Recorded in the activation history.")


class RollbackForm(ReasonForm):
    to = forms.ChoiceField(required=False, label="Roll back to",
                           help_text="Archived versions (once active or set aside); rejected ones are left out.")
    field_order = ["to", "reason"]

    def __init__(self, *args, line, **kwargs):
        super().__init__(*args, **kwargs)
        previous = services.previous_version(line)
        first = [("", f"the previous version ({previous.label})" if previous else "the previous version (none)")]
        targets = line.versions.filter(status=VersionStatus.ARCHIVED).order_by("-number")
        self.fields["to"].choices = first + [
            (v.label, f"{v.label} · created {v.created_at:%Y-%m-%d %H:%M}") for v in targets]


class CompareForm(forms.Form):
    a = forms.CharField(max_length=20, label="A (baseline)")
    b = forms.CharField(max_length=20, label="B")

    def clean(self):
        data = super().clean()
        if data.get("a") and data.get("a") == data.get("b"):
            raise forms.ValidationError("Choose two different versions to compare.")
        return data


def default_pair(line) -> dict:
    """What the compare page opens on: the active version against the newest other one."""
    newest = list(line.versions.order_by("-number").values_list("label", "status")[:50])
    active = next((label for label, status in newest if status == VersionStatus.ACTIVE), None)
    others = [label for label, _status in newest if label != active]
    if active and others:
        return {"a": active, "b": others[0]}
    if len(others) >= 2:
        return {"a": others[1], "b": others[0]}
    return {}
