from django import forms
from django.conf import settings


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
