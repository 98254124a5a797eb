"""Registry workflows: register a run's adapter, promote, roll back, archive.

Promotion and rollback share one path (_activate): check the adapter files and, with
OLLAMA_HOST set, create the version's own Ollama model first, outside any transaction (a
failure refuses the activation with nothing changed); then lock the line row so concurrent
activations queue up, re-read the active version under the lock, switch statuses with
conditional updates and record the Activation; only after commit move Ollama's line tag,
swap serving and broadcast. The line's lock is never held over HTTP or file hashing.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError

from accounts.roles import MANAGE_MODELS, require_unless_system
from curation.secrets import scrub_text
from models_registry import adapters, ollama, runtime_export
from models_registry.events import publish_activated, publish_overview
from models_registry.models import Activation, ActivationKind, ModelLine, ModelVersion, PromptStyle, VersionStatus
from models_registry.serving import runtime
from training.services.runs import is_line_name
from training.trainer.run import ADAPTER_FILES

logger = logging.getLogger(__name__)


class RegistryError(Exception):
    """A registry action was refused; str() says why in plain words."""


def register_run_version(run, user=None) -> ModelVersion:
    """Register a succeeded run's adapter as a candidate version, once per run.

    The line comes from run.hyperparameters["model_line"], else settings.MODEL_LINE_DEFAULT;
    the parent is the version that was active when the run started. Safe to repeat and to race:
    the database holds one version per run (one_version_per_training_run), a caller that finds
    it, under the line's lock or through the constraint, gets that one back.
    """
    existing = ModelVersion.objects.filter(training_run=run).first()
    if existing:
        return existing
    adapter_dir = f"{run.run_dir.rstrip('/')}/adapter"
    folder = adapters.run_folder(run, adapter_dir)  # fetched from the artifact store where this host lacks it
    meta = adapters.read_metadata(folder)
    files = adapters.hash_folder(folder)
    line_name = (run.hyperparameters or {}).get("model_line") or settings.MODEL_LINE_DEFAULT
    if not is_line_name(line_name):
        # Runs are checked when started; this guards rows written before that check existed.
        raise RegistryError(f"run {run.pk} names model line {line_name!r}, which is not a slug; "
                            "correct the run's model_line before registering it")
    prompt = meta.get("prompt") or {}
    base = adapters.base_model_identity(meta, run.base_model)
    try:
        with transaction.atomic():
            line, _ = ModelLine.objects.get_or_create(name=line_name, defaults={
                "base_model": base["name"],
                "prompt_style": prompt.get("style") or PromptStyle.CHAT_TEMPLATE})
            line = ModelLine.objects.select_for_update().get(pk=line.pk)
            # Registered meanwhile (the worker's hook and a cycle, two deliveries): the lock orders them.
            existing = ModelVersion.objects.filter(training_run=run).first()
            if existing:
                return existing
            number = (line.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = ModelVersion.objects.create(
                line=line, number=number, label=f"v{number}", base_model=base["name"],
                adapter_dir=adapter_dir, adapter_files=files, prompt=prompt,
                parent=line.version_active_at(run.started_at or run.created_at),
                training_run=run, dataset=run.dataset, metrics={**_split_metrics(meta, run), "base_model": base},
                created_by=user or run.created_by)
            transaction.on_commit(publish_overview)  # a new candidate: the Overview's counters follow
            return version
    except IntegrityError:
        # Another registration of this run won where the line's lock did not order the two.
        existing = ModelVersion.objects.filter(training_run=run).first()
        if existing is None:
            raise
        return existing


def register_adapter_version(line: ModelLine, adapter_dir: str, user, *, notes: str = "",
                             parent: ModelVersion | None = None) -> ModelVersion:
    """Register an adapter made elsewhere (a folder under the data root) as a candidate of `line`.

    Checked like a trained one: the folder is inside the data root, holds PEFT's files and
    academy_adapter.json with a prompt block, was trained on the line's base model, and its
    files are hashed so promotion can verify them later.
    """
    require_unless_system(user, MANAGE_MODELS)
    folder = adapters.data_path(adapter_dir)
    files = adapters.hash_folder(folder)
    missing = [name for name in ADAPTER_FILES if name not in files]
    if missing:
        raise RegistryError(f"adapter folder {adapter_dir} lacks {', '.join(missing)}")
    meta = adapters.read_metadata(folder)
    prompt = meta.get("prompt") or {}
    if prompt.get("style") not in PromptStyle.values or not prompt.get("template"):
        raise RegistryError(f"{adapters.METADATA_FILE} has no usable prompt block (style and template)")
    if meta.get("base_model") != line.base_model:
        raise RegistryError(f"the adapter was trained on base model {meta.get('base_model')!r}, "
                            f"but line {line.name} uses {line.base_model!r}")
    relative = str(folder.relative_to(adapters.data_path(".")))
    with transaction.atomic():
        line = ModelLine.objects.select_for_update().get(pk=line.pk)
        if line.versions.filter(adapter_dir=relative).exists():
            raise RegistryError(f"{relative} is already registered in line {line.name}")
        number = (line.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        numeric = {k: v for k, v in (meta.get("metrics") or {}).items()
                   if isinstance(v, int | float) and not isinstance(v, bool)}
        return ModelVersion.objects.create(
            line=line, number=number, label=f"v{number}", base_model=line.base_model, adapter_dir=relative,
            adapter_files=files, prompt=prompt, parent=parent or line.active_version(),
            metrics={"training": {k: v for k, v in numeric.items() if not k.startswith("eval")},
                     "eval": {k: v for k, v in numeric.items() if k.startswith("eval")}, "arena": {},
                     "base_model": adapters.base_model_identity(meta, line.base_model)},
            notes=notes, created_by=user)


def _split_metrics(meta: dict, run) -> dict:
    merged = {**(meta.get("metrics") or {}), **(run.final_metrics or {})}
    numeric = {k: v for k, v in merged.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {"training": {k: v for k, v in numeric.items() if not k.startswith("eval")},
            "eval": {k: v for k, v in numeric.items() if k.startswith("eval")},
            "arena": {}}


def promote_version(version: ModelVersion, user, reason: str = "", *, arena: dict | None = None) -> Activation:
    """Make `version` its line's active version (the previous active one is archived).

    `arena`: the numbers of the verdict that decided this promotion, kept in the history.
    Without it, a version the Arena held or rejected (its metrics["arena"]["decision"]) is
    promoted only with a reason, and the history records that the policy was overridden.
    """
    require_unless_system(user, MANAGE_MODELS)
    verdict = version.arena_verdict
    override = arena is None and (verdict.get("decision") in ("hold", "reject")
                                  or version.status == VersionStatus.REJECTED)
    if override and not reason.strip():
        raise RegistryError(f"the Arena said {verdict.get('decision') or 'reject'} for {version}: "
                            "give a reason to override the promotion policy")
    record = arena if arena is not None else (
        {"decision": verdict.get("decision"), "against": verdict.get("against"),
         "reasons": (verdict.get("reasons") or [])[:3]} if verdict else {})
    return _activate(version.line_id, version.pk, user, reason, ActivationKind.PROMOTE,
                     arena=record, override=override)


def reject_version(version: ModelVersion, user, reason: str = "") -> ModelVersion:
    """Mark a candidate rejected (the Arena's verdict carried out); it can then never become active by itself."""
    require_unless_system(user, MANAGE_MODELS)
    if ModelVersion.objects.filter(pk=version.pk, status=VersionStatus.CANDIDATE).update(
            status=VersionStatus.REJECTED) != 1:
        status = ModelVersion.objects.values_list("status", flat=True).get(pk=version.pk)
        raise RegistryError(f"{version} is {status}; only a candidate can be rejected")
    if reason:
        ModelVersion.objects.filter(pk=version.pk).update(notes=(f"{version.notes}\n" if version.notes else "")
                                                          + f"rejected: {scrub_text(reason)[0]}")
    version.status = VersionStatus.REJECTED
    return version


def previous_version(line: ModelLine) -> ModelVersion | None:
    """The version that was active before the current one."""
    active = line.active_version()
    if active is None:
        return None
    last = line.activations.filter(to_version=active).order_by("-created_at", "-id").first()
    return last.from_version if last else None


def rollback_line(line: ModelLine, user, reason: str = "", to_version: ModelVersion | None = None) -> Activation:
    """Reactivate the previously active version of `line`, or `to_version` when given."""
    require_unless_system(user, MANAGE_MODELS)
    if to_version is None:
        to_version = previous_version(line)
        if to_version is None:
            raise RegistryError(f"line {line.name} has no previous version to roll back to")
    elif to_version.line_id != line.pk:
        raise RegistryError(f"{to_version} is not a version of line {line.name}")
    return _activate(line.pk, to_version.pk, user, reason, ActivationKind.ROLLBACK)


def archive_version(version: ModelVersion, user) -> ModelVersion:
    """Retire a candidate or rejected version (the active one must be replaced first)."""
    require_unless_system(user, MANAGE_MODELS)
    old = ModelVersion.objects.values_list("status", flat=True).get(pk=version.pk)
    if old == VersionStatus.ACTIVE:
        raise RegistryError(f"{version} is active: promote or roll back to another version first")
    if old == VersionStatus.ARCHIVED:
        raise RegistryError(f"{version} is already archived")
    if ModelVersion.objects.filter(pk=version.pk, status=old).update(status=VersionStatus.ARCHIVED) != 1:
        raise RegistryError(f"{version} changed meanwhile; reload and try again")
    version.status = VersionStatus.ARCHIVED
    return version


def delete_line(line: ModelLine, user) -> str:
    """Delete a model line with its history and versions; refused while one of them is active.

    Adapter folders stay on disk (they may be shared by exports); only the registry rows go.
    """
    require_unless_system(user, MANAGE_MODELS)
    name = line.name
    try:
        with transaction.atomic():
            line = ModelLine.objects.select_for_update().get(pk=line.pk)
            if line.versions.active().exists():
                raise RegistryError(f"{name} has an active version that is being served: "
                                    "archive the line's versions first (roll back or promote elsewhere)")
            line.activations.all().delete()
            ModelVersion.objects.filter(line=line).update(parent=None)
            ModelVersion.objects.filter(line=line).delete()
            line.delete()
    except ProtectedError as exc:
        blocking = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise RegistryError(f"{name} is still referenced by {', '.join(blocking)}; remove those first") from None
    logger.info("model line %s deleted by %s", name, user)
    return name


def _activate(line_id: int, version_id: int, user, reason: str, kind: str, *, arena: dict | None = None,
              override: bool = False) -> Activation:
    """Make a version its line's active one; the line's row is locked only for the row changes.

    The slow parts come first, outside any transaction: the adapter files are checked (fetched
    from the artifact store where this host lacks them) and, with OLLAMA_HOST set, Ollama's own
    model of this version (<line>:<label>) is created. A failure there refuses the activation
    with nothing changed. After commit, the line's stable tag is moved to that model (POST
    /api/copy, _move_ollama_tag); a failure then is written on the activation and logged.
    """
    reason = scrub_text(reason)[0]  # an admin may paste a credential into the reason; the history is shown to all
    version = ModelVersion.objects.select_related("line").get(pk=version_id, line_id=line_id)
    try:
        _check_activatable(version.line, version, allow_rejected=override)  # refuse before any slow work
        adapter = adapters.local_folder(version)  # fetched (sha256-checked) where this host lacks it
        if ollama.is_enabled():
            _create_ollama_model(version, adapter)
    except adapters.AdapterError as exc:
        raise RegistryError(f"cannot activate: {exc}") from exc
    except ollama.OllamaError as exc:
        raise RegistryError(f"not activated, nothing changed: Ollama failed: {exc}") from exc
    with transaction.atomic():
        line = ModelLine.objects.select_for_update().get(pk=line_id)
        version = ModelVersion.objects.select_related("line").get(pk=version_id, line=line)
        current = line.versions.active().first()
        _check_activatable(line, version, allow_rejected=override)  # again: another activation may have come first
        if current is not None and ModelVersion.objects.filter(
                pk=current.pk, status=VersionStatus.ACTIVE).update(status=VersionStatus.ARCHIVED) != 1:
            raise RegistryError(f"{current} changed meanwhile; try again")
        if ModelVersion.objects.filter(pk=version.pk, status=version.status).update(
                status=VersionStatus.ACTIVE) != 1:
            raise RegistryError(f"{version} changed meanwhile; try again")
        version.status = VersionStatus.ACTIVE
        activation = Activation.objects.create(line=line, from_version=current, to_version=version, kind=kind,
                                               reason=reason, created_by=user, arena=arena or {},
                                               policy_overridden=override)
        transaction.on_commit(lambda: _after_activation(version, activation))
    return activation


def _create_ollama_model(version: ModelVersion, adapter) -> None:
    """Ollama's own model of the version: a base stored from a GGUF file goes as the runtime export's files, so
    Ollama runs the base that was judged; any other names the line's Ollama base and sends the PEFT adapter."""
    if runtime_export.has_gguf_base(version):
        runtime_export.create_ollama_model(version)
    else:
        ollama.create_model(version, adapter)


def _move_ollama_tag(line: ModelLine, activation: Activation) -> None:
    """Point the line's stable Ollama tag at the model of its active version (after commit).

    It tags whatever version is active when it runs and checks again afterwards, so of two
    activations committed one after the other the tag ends on the later one whatever order
    their after-commit steps run in. A failure is recorded on `activation` (the line's
    history shows it) and logged; the database stays as committed.
    """
    stable = ollama.stable_tag(line)
    for _ in range(3):
        active = line.versions.active().select_related("line").first()
        if active is None:
            return
        try:
            ollama.tag(active.ollama_name, stable)
        except ollama.OllamaError as exc:
            note = (f"{active} is active, but Ollama's tag {stable} was not moved to it: {exc}. "
                    f"Move it by hand: ollama cp {active.ollama_name} {stable}")
            Activation.objects.filter(pk=activation.pk).update(note=note)
            activation.note = note
            logger.error("line %s: %s", line.name, note)
            return
        if line.versions.active().filter(pk=active.pk).exists():
            return


def _check_activatable(line: ModelLine, version: ModelVersion, *, allow_rejected: bool = False) -> None:
    if version.status == VersionStatus.ACTIVE:
        raise RegistryError(f"{version} is already active")
    if version.status == VersionStatus.REJECTED and not allow_rejected:
        raise RegistryError(f"{version} was rejected and cannot be activated")
    if version.base_model != line.base_model:
        raise RegistryError(f"{version} was trained on base model {version.base_model!r}, "
                            f"but line {line.name} uses {line.base_model!r}")


def _after_activation(version: ModelVersion, activation: Activation) -> None:
    """Side effects once the new active version is committed: Ollama's tag, local hot swap, broadcast."""
    if ollama.is_enabled():
        _move_ollama_tag(version.line, activation)
    try:
        runtime.notify_activated(version)
    except Exception:  # serving elsewhere picks it up on its next request
        logger.exception("hot swap to %s failed in this process", version)
    publish_activated(version, activation)
