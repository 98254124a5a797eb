"""The start-run form: dataset, base model, backend and hyperparameters (ranges checked by the service)."""

from django import forms
from django.conf import settings

from curation.models import DatasetSnapshot
from training import model_store, services
from training.base_models import is_toy, toy_base_path
from training.models import Backend
from training.presets import FIELD_HELP, PRESETS, preset_values, seconds_per_step
from training.services import hooks

HP_FIELDS = ("lora_rank", "lora_alpha", "lora_dropout", "target_modules", "learning_rate", "num_epochs", "batch_size",
             "gradient_accumulation", "max_seq_length", "seed", "packing", "eval_every_steps")


class RunForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=DatasetSnapshot.objects.all(), empty_label=None)
    stored_base = forms.ChoiceField(required=False, label="Base model",
                                    help_text="A base model stored here (python manage.py fetch_base_model NAME).")
    base_model = forms.CharField(max_length=500, required=False, label="Other base model",
                                 help_text="A Hugging Face id or local folder instead; empty: the base model above.")
    backend = forms.ChoiceField(choices=Backend.choices, initial=Backend.AUTO)
    gpu = forms.BooleanField(required=False, label="Needs a GPU")
    gpu_memory_gb = forms.IntegerField(required=False, min_value=0, max_value=4096, label="GPU memory (GB)",
                                       help_text="At least this much on one GPU (implies a GPU); empty: any.")
    memory_gb = forms.IntegerField(required=False, min_value=0, max_value=4096, label="RAM (GB)",
                                   help_text="Host memory the run needs; empty: any.")
    model_line = forms.SlugField(max_length=100, required=False,
                                 help_text="Model line to register into (letters, digits, hyphens, underscores).")
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
        self.fields["stored_base"].choices = base_model_choices()
        self.fields["base_model"].widget.attrs["placeholder"] = settings.DEFAULT_BASE_MODEL or "toy model (offline)"
        self.fields["dataset"].label_from_instance = lambda d: f"{d.name} · {d.short_hash} · {d.row_count} rows"
        for name, explanation in FIELD_HELP.items():
            if name in self.fields:
                extra = self.fields[name].help_text if name == "target_modules" else ""
                self.fields[name].help_text = f"{explanation} {extra}".strip()

    def chosen_base_model(self) -> str:
        """The typed base model when given, else the stored one picked (empty: the default)."""
        return (self.cleaned_data.get("base_model") or "").strip() or self.cleaned_data.get("stored_base") or ""

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


def base_model_choices() -> list[tuple[str, str]]:
    """("", the default) then every base model stored under the models root, by display name.

    The toy model's value is its folder (the name every toy run and the demo line use);
    every other stored model is chosen by its short name, never a host path.
    """
    default = settings.DEFAULT_BASE_MODEL
    choices = [("", f"Default: {model_store.display_name(default) if default else 'toy model (offline)'}")]
    for stored in model_store.stored_models():
        value = str(toy_base_path()) if is_toy(stored["name"]) else stored["name"]
        choices.append((value, model_store.display_name(stored["name"])))
    return choices


def start_form_guide(query) -> dict:
    """Presets (and the Professor's suggestion for the chosen dataset), the values to start from, and
    what the estimate needs: train rows per dataset and the measured seconds per step."""
    snapshots = list(DatasetSnapshot.objects.order_by("-created_at").values("pk", "train_count"))
    chosen = query.get("dataset")
    dataset_id = int(chosen) if chosen and chosen.isdigit() and any(s["pk"] == int(chosen) for s in snapshots) \
        else (snapshots[0]["pk"] if snapshots else None)
    defaults = services.default_hyperparameters()
    presets = {key: {"label": p["label"], "explain": p["explain"], "values": preset_values(key, defaults)}
               for key, p in PRESETS.items()}
    advice = hooks.advise_parameters(DatasetSnapshot.objects.get(pk=dataset_id)) if dataset_id else {}
    if advice:
        presets["suggested"] = {"label": "Professor's suggestion",
                                "explain": "Chosen for this dataset's size and this machine: "
                                           + "; ".join(reason for _value, reason in advice.values()),
                                "values": {**defaults, **{k: v for k, (v, _reason) in advice.items()}},
                                "reasons": {k: reason for k, (_value, reason) in advice.items()}}
    preset = query.get("preset") if query.get("preset") in presets else "standard"
    values = dict(presets[preset]["values"])
    return {"presets": presets, "preset": preset, "values": values, "dataset_id": dataset_id,
            "train_rows": {str(s["pk"]): s["train_count"] for s in snapshots},
            "seconds_per_step": seconds_per_step(),
            "seconds_per_step_by_base": {value: seconds_per_step(value)
                                         for value, _label in base_model_choices() if value}}
