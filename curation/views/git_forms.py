from django import forms


class RepositoryForm(forms.Form):
    path = forms.CharField(max_length=1000, help_text="Top folder of a git repository under an allowed root.")
    name = forms.CharField(max_length=200, required=False, help_text="Optional; defaults to the folder name.")
    branch = forms.CharField(max_length=200, required=False, help_text="Optional; empty mines the checked-out HEAD.")
