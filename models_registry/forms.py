from django import forms


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Recorded in the activation history.")


class RollbackForm(ReasonForm):
    to = forms.CharField(max_length=20, required=False, help_text="Version label; empty: the previous version.")


class CompareForm(forms.Form):
    a = forms.CharField(max_length=20)
    b = forms.CharField(max_length=20)
