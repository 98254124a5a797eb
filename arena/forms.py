from django import forms


class EvaluateForm(forms.Form):
    against = forms.CharField(max_length=20, required=False,
                              help_text="A version label, 'base', or empty for the active version.")


class ExamForm(forms.Form):
    jsonl = forms.CharField(widget=forms.Textarea(attrs={"rows": 20, "cols": 120, "spellcheck": "false"}),
                            label="Exam items (JSONL)",
                            help_text='One {"id", "category", "prompt", "reference", "check"} object a line.')


class HoldoutForm(forms.Form):
    size = forms.IntegerField(min_value=1, max_value=10_000)
    seed = forms.IntegerField(min_value=0, initial=0)
