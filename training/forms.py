"""The start-run form: dataset, base model, backend and hyperparameters (ranges checked by the service)."""

from django import forms
from django.conf import settings

from curation.models import DatasetSnapshot
from training.models import Backend

HP_FIELDS = ("lora_rank", "lora_alpha", "lora_dropout", "target_modules", "learning_rate", "num_epochs", "batch_size",
             "gradient_accumulation", "max_seq_length", "seed", "packing", "eval_every_steps")


class RunForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=DatasetSnapshot.objects.all(), empty_label=None)
    base_model = forms.CharField(max_length=500, required=False,
                                 help_text="Hugging Face id or local folder; empty: the default base model.")
    backend = forms.ChoiceField(choices=Backend.choices, initial=Backend.AUTO)
    gpu = forms.BooleanField(required=False, label="Needs a GPU")
    gpu_memory_gb = forms.IntegerField(required=False, min_value=0, max_value=4096, label="GPU memory (GB)",
                                       help_text="At least this much on one GPU (implies a GPU); empty: any.")
    memory_gb = forms.IntegerField(required=False, min_value=0, max_value=4096, label="RAM (GB)",
                                   help_text="Host memory the run needs; empty: any.")
    model_line = forms.CharField(max_length=100, required=False, help_text="Model line to register into.")
    lora_rank = forms.IntegerField()
    lora_alpha = forms.FloatField()
    lora_dropout = forms.FloatField()
    target_modules = forms.CharField(max_length=500, help_text='Comma-separated module names, or "all-linear".')
    learning_rate = forms.FloatField()
    num_epochs = forms.IntegerField()
    batch_size = forms.IntegerField()
    gradient_accumulation = forms.IntegerField()
    max_seq_length = forms.IntegerField()
    seed = forms.IntegerField()
    packing = forms.BooleanField(required=False)
    eval_every_steps = forms.IntegerField()

    def __init__(self, *args, defaults: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, value in (defaults or {}).items():
            if name in self.fields:
                self.fields[name].initial = ",".join(value) if isinstance(value, list) else value
        self.fields["base_model"].widget.attrs["placeholder"] = settings.DEFAULT_BASE_MODEL or "toy model (offline)"
        self.fields["dataset"].label_from_instance = lambda d: f"{d.name} · {d.short_hash} · {d.row_count} rows"

    def hyperparameters(self) -> dict:
        data = self.cleaned_data
        hp = {name: data[name] for name in HP_FIELDS if data.get(name) is not None}
        modules = hp.get("target_modules", "").strip()
        if modules != "all-linear":
            modules = [m.strip() for m in modules.split(",") if m.strip()]
        hp["target_modules"] = modules
        if data.get("model_line"):
            hp["model_line"] = data["model_line"].strip()
        return hp

    def requirements(self) -> dict:
        """What the run needs, for services.start_run (routing: training.capabilities)."""
        data = self.cleaned_data
        return {"gpu": bool(data.get("gpu")), "gpu_memory_gb": data.get("gpu_memory_gb") or 0,
                "memory_gb": data.get("memory_gb") or 0}

    def add_service_errors(self, error) -> None:
        """Attach a service ValidationError to the fields it names (others to the form)."""
        for field, messages in error.message_dict.items():
            self.add_error(field if field in self.fields else None, messages)
