"""The start-run form: dataset, base model, backend and hyperparameters (ranges checked by the service)."""

from django import forms
from django.conf import settings

from curation.models import DatasetSnapshot
from jobs.models import JobStatus
from training import model_store, services
from training.base_models import is_toy, toy_base_path
from training.models import Backend, TrainingRun
from training.presets import FIELD_HELP, PRESETS, fit_preset, grouped_reasons, seconds_per_step
from training.services import hooks

HP_FIELDS = ("lora_rank", "lora_alpha", "lora_dropout", "target_modules", "learning_rate", "num_epochs", "batch_size",
             "gradient_accumulation", "max_seq_length", "warmup_ratio", "seed", "packing", "eval_every_steps",
             "logging_every_steps", "early_stopping_patience")
# The form's sections, in order: (legend, field names).
SECTIONS = (
    ("Data and base model", ("dataset", "stored_base", "base_model", "model_line")),
    ("Adapter", ("lora_rank", "lora_alpha", "lora_dropout", "target_modules")),
    ("Training", ("learning_rate", "num_epochs", "batch_size", "gradient_accumulation", "max_seq_length",
                  "warmup_ratio", "seed", "packing")),
    ("Evaluation and the chart", ("eval_every_steps", "logging_every_steps", "early_stopping_patience")),
    ("Where it runs", ("backend", "gpu", "gpu_memory_gb", "memory_gb")),
)


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
    # Optional: a client that leaves them out gets the defaults.
    logging_every_steps = forms.IntegerField(required=False, label="Train point every (steps)")
    early_stopping_patience = forms.IntegerField(required=False)
    warmup_ratio = forms.FloatField(required=False)

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

    def sections(self) -> list[tuple[str, list]]:
        """(legend, bound fields) per section of the form (SECTIONS), every field once."""
        return [(legend, [self[name] for name in names if name in self.fields]) for legend, names in SECTIONS]

    def setting_reasons(self, guide: dict) -> dict[str, str]:
        """Where each submitted setting came from: the chosen preset's reason when the value is the preset's,
        else the person who changed it (what the preset had)."""
        preset = guide["presets"].get(self.data.get("preset") or "") or guide["presets"][guide["preset"]]
        reasons = {}
        for name, value in self.hyperparameters().items():
            if name not in HP_FIELDS:
                continue
            offered = preset["values"].get(name)
            if _same(value, offered):
                reasons[name] = preset["reasons"].get(name, "the deployment's default")
            else:
                shown = ",".join(offered) if isinstance(offered, list) else offered
                reasons[name] = f"set by the person who started the run (the {preset['label']} preset had {shown})"
        return reasons

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
    """Presets fitted to the chosen dataset and base model (and the Professor's suggestion for the dataset), the
    values to start from, why each value, and what the estimate needs: train rows per dataset and the measured
    seconds per step.

    `query` is the page's query (dataset, base, preset) or a submitted form (dataset, stored_base, base_model,
    preset). Only a base model stored here (or the default) fits the presets: a typed one gets the defaults.
    """
    snapshots = list(DatasetSnapshot.objects.order_by("-created_at").values("pk", "train_count"))
    chosen = str(query.get("dataset") or "")
    dataset_id = int(chosen) if chosen.isdigit() and any(s["pk"] == int(chosen) for s in snapshots) \
        else (snapshots[0]["pk"] if snapshots else None)
    train_rows = next((s["train_count"] for s in snapshots if s["pk"] == dataset_id), 0)
    choices = base_model_choices()
    stored = query.get("stored_base", query.get("base")) or ""
    stored = stored if stored in {value for value, _label in choices} else ""
    typed = (query.get("base_model") or "").strip()
    base = "" if typed else (stored or _default_base())
    defaults = services.default_hyperparameters()
    presets = {}
    for key, preset in PRESETS.items():
        fitted = fit_preset(key, base_model=base, train_rows=train_rows, defaults=defaults)
        presets[key] = {"label": preset["label"], "explain": preset["explain"], **fitted}
    advice = hooks.advise_parameters(DatasetSnapshot.objects.get(pk=dataset_id)) if dataset_id else {}
    if advice:
        fitted = fit_preset("suggested", base_model=base, train_rows=train_rows, defaults=defaults, advice=advice)
        presets["suggested"] = {"label": "Professor's suggestion",
                                "explain": "Chosen for this dataset's size and this machine by the Professor's rules.",
                                **fitted}
    for preset in presets.values():
        preset["why"] = grouped_reasons(preset["values"], preset["reasons"], HP_FIELDS)
    # Before any run has succeeded here, the first one is a quick try (what the Overview recommends).
    first = not TrainingRun.objects.filter(status=JobStatus.SUCCEEDED).exists()
    preset = query.get("preset") if query.get("preset") in presets else ("quick" if first else "standard")
    return {"presets": presets, "preset": preset, "values": dict(presets[preset]["values"]),
            "preset_label": presets[preset]["label"], "why": presets[preset]["why"],
            "dataset_id": dataset_id, "base": stored, "base_name": model_store.display_name(base) if base else typed,
            "train_rows": {str(s["pk"]): s["train_count"] for s in snapshots},
            "seconds_per_step": seconds_per_step(),
            "seconds_per_step_by_base": {value: seconds_per_step(value) for value, _label in choices if value}}


def _default_base() -> str:
    """The base model a run without one gets (training.base_models), without building the toy model."""
    return settings.DEFAULT_BASE_MODEL or model_store.preferred_stored() or str(toy_base_path())


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    if isinstance(a, list) and isinstance(b, str):
        return False
    return a == b
