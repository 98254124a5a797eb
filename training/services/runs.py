"""Starting, cancelling and retrying training runs."""

import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.roles import OPERATE_TRAINING, require_unless_system
from artifacts import store as artifact_store
from jobs import lifecycle
from training import capabilities
from training.models import Backend, TrainingRun
from training.services.datasets import verify_snapshot
from training.services.hooks import call_created_hooks
from training.shapes import check_artifacts
from training.trainer.spec import DEFAULT_TARGET_MODULES, HYPERPARAMETERS, parse_hyperparameters

# Keys stored with the run's hyperparameters but never passed to the trainer.
RUN_ONLY_KEYS = ("model_line",)
# A model line's name ends up in URLs, channel group names and the OpenAI "model" field: a slug.
_LINE_NAME = re.compile(r"^[-a-zA-Z0-9_]{1,100}\Z")
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def check_operate(actor) -> None:
    """Refuse (PermissionDenied) an actor, a user or an API principal, who may not start, cancel or retry runs.

    actor None: the system itself (a hook, a command run by the server's owner).
    """
    require_unless_system(actor, OPERATE_TRAINING)


def is_line_name(value) -> bool:
    """Whether `value` may name a model line (the same rule as ModelLine.name, a slug)."""
    return isinstance(value, str) and bool(_LINE_NAME.match(value))


def default_hyperparameters() -> dict:
    """Trainer defaults overlaid with the deployment's DEFAULT_* settings."""
    values = {name: default for name, (_kind, default, _lo, _hi) in HYPERPARAMETERS.items()}
    values.update({
        "lora_rank": settings.DEFAULT_LORA_RANK,
        "lora_alpha": settings.DEFAULT_LORA_ALPHA,
        "learning_rate": settings.DEFAULT_LEARNING_RATE,
        "num_epochs": settings.DEFAULT_NUM_EPOCHS,
        "batch_size": settings.DEFAULT_BATCH_SIZE,
        "gradient_accumulation": settings.DEFAULT_GRADIENT_ACCUMULATION,
        "max_seq_length": settings.DEFAULT_MAX_SEQ_LENGTH,
        "eval_every_steps": settings.DEFAULT_EVAL_EVERY_STEPS,
        "target_modules": list(DEFAULT_TARGET_MODULES),
    })
    return values


def validate_hyperparameters(raw: dict | None) -> dict:
    """Defaults filled in, every value checked; ValidationError maps each bad field to its allowed range."""
    if raw is not None and not isinstance(raw, dict):
        raise ValidationError({"hyperparameters": "must be an object of name -> value"})
    raw = dict(raw or {})
    extras = {key: raw.pop(key) for key in RUN_ONLY_KEYS if key in raw}
    merged = {**default_hyperparameters(), **raw}
    problems: list[str] = []
    hp = parse_hyperparameters(merged, problems)
    errors: dict[str, list[str]] = {}
    for problem in problems:
        field, _, message = problem.partition(": ")
        errors.setdefault(field.removeprefix("hyperparameters."), []).append(f"{field.split('.')[-1]}: {message}")
    for key, value in extras.items():
        if not is_line_name(value):
            errors.setdefault(key, []).append(f"{key}: must be a slug of at most 100 characters "
                                              "(letters, digits, hyphens and underscores), e.g. venom-coder")
    if errors:
        raise ValidationError(errors)
    return {**hp.as_dict(), **extras}


def validate_base_model(base_model: str) -> str:
    """A stored model's short name, a Hugging Face id, or a local folder under TRAINING_MODEL_ROOTS
    (or the configured default). A stored model's folder given as a path becomes its short name."""
    from training import model_store

    base_model = (base_model or "").strip()
    if not base_model:
        raise ValidationError({"base_model": "base_model: required (a Hugging Face id or a local folder)"})
    if len(base_model) > 500:
        raise ValidationError({"base_model": "base_model: at most 500 characters"})
    if base_model == settings.DEFAULT_BASE_MODEL:
        return base_model
    if model_store.NAME.match(base_model) and model_store.resolve(base_model) is not None:
        return base_model  # stored under the models root (fetch_base_model): runs name it, never its path
    looks_like_path = base_model.startswith(("/", ".", "~")) or "\\" in base_model or ".." in base_model
    if not looks_like_path and _HF_ID.match(base_model):
        return base_model
    path = Path(base_model).expanduser().resolve()
    roots = [Path(r).resolve() for r in settings.TRAINING_MODEL_ROOTS] + [Path(settings.DATA_DIR).resolve() / "models"]
    if not any(path.is_relative_to(root) for root in roots):
        raise ValidationError({"base_model": "base_model: a local model must be a folder under "
                                             + ", ".join(sorted({str(r) for r in roots}))})
    return _stored_name(path) or str(path)


def _stored_name(path: Path) -> str | None:
    """The short name of a stored model's folder (one with a manifest under the models root)."""
    from training import model_store

    data = model_store.manifest(str(path)) or {}
    name = data.get("model_id")
    if path.parent == model_store.models_root().resolve() and isinstance(name, str) \
            and (model_store.resolve(name) or Path("/nonexistent")).resolve() == path:
        return name
    return None


def start_run(user, *, dataset, base_model: str | None = None, hyperparameters: dict | None = None,
              backend: str = Backend.AUTO, requirements: dict | None = None,
              setting_reasons: dict | None = None) -> TrainingRun:
    """Validate, check permission, create a queued run and queue execute_run after commit.

    `requirements` ({"gpu", "gpu_memory_gb", "memory_gb"}) choose the run's capability queue
    (training.capabilities). Refuses (ValidationError) before anything is written when a
    hyperparameter or requirement is out of range, the backend is unknown, or the dataset
    file is missing or does not match its hash. `setting_reasons` ({name: reason}, from the start form) say
    where each hyperparameter came from; only names the run has are kept.
    """
    check_operate(user)
    if backend not in Backend.values:
        raise ValidationError({"backend": f"backend: must be one of {', '.join(Backend.values)}"})
    hp = validate_hyperparameters(hyperparameters)
    needs = capabilities.parse_requirements(requirements, backend=backend)
    from training.base_models import default_base_model, ensure_toy_base, toy_base_path

    if not base_model:
        base_model = default_base_model()
    elif Path(base_model).expanduser().resolve() == toy_base_path().resolve():
        ensure_toy_base()
    base_model = validate_base_model(base_model)
    verify_snapshot(dataset)
    carried = _publish_base_model(base_model)
    check_artifacts(carried)
    with transaction.atomic():
        run = TrainingRun.objects.create(dataset=dataset, base_model=base_model, hyperparameters=hp,
                                         requested_backend=backend, created_by=user, requirements=needs.as_dict(),
                                         queue_name=capabilities.queue_for(needs), artifacts=carried,
                                         setting_reasons=_reasons_for(hp, setting_reasons))
        run.run_dir = f"runs/{run.pk}"
        run.save(update_fields=["run_dir"])
        call_created_hooks(run)
        lifecycle.enqueue(run)
    return run


def _reasons_for(hp: dict, reasons: dict | None) -> dict:
    return {name: str(reason)[:300] for name, reason in (reasons or {}).items() if name in hp and reason}


def _publish_base_model(base_model: str) -> dict:
    """With a remote artifact store, a base model whose folder is under the data root travels with the run.

    That is a local folder, or a Hugging Face id stored by `manage.py fetch_base_model`. Workers on
    other hosts fetch it by these hashes into their own data root (training.execution).
    """
    if not artifact_store.is_remote():
        return {}
    from training import model_store

    path = model_store.resolve(base_model) or Path(base_model).expanduser()
    root = artifact_store.data_root()
    if not (path.is_absolute() and path.is_dir() and path.resolve().is_relative_to(root)):
        return {}
    key = str(path.resolve().relative_to(root))
    return {"base_model": {"key": key, "files": artifact_store.publish_folder(key)}}


def dataset_warnings(dataset) -> list[str]:
    """Plain warnings about a run's dataset: a manual run still starts, automatic runs refuse it."""
    minimum = settings.MIN_DATASET_EXAMPLES
    if dataset.row_count < minimum:
        return [f"the dataset has only {dataset.row_count} examples (fewer than {minimum}); an automatic run "
                "would refuse it, and the adapter will likely learn little"]
    return []


def cancel_run(run: TrainingRun, user) -> TrainingRun:
    """Cancel a run: a queued one at once; a preparing/running one by flagging it for its worker."""
    check_operate(user)
    lifecycle.cancel(TrainingRun, run.pk)
    run.refresh_from_db()
    return run


def retry_run(run: TrainingRun, user) -> TrainingRun:
    """Requeue a failed or lost run; the trainer resumes from the last checkpoint in the kept run folder."""
    check_operate(user)
    verify_snapshot(run.dataset)
    lifecycle.requeue(TrainingRun, run.pk, exit_code=None, container_id="", pid=None)
    run.refresh_from_db()
    return run
