"""The shapes of a run's JSON fields, checked by the services before they write them.

`RunHyperparameters` is generated from the trainer's own table (training.trainer.spec.HYPERPARAMETERS),
which stays the one place that says each hyperparameter's type, default and range; nothing here
repeats a number. `RunArtifacts` is what a run records about its files: the carried base model,
checkpoints, the log and the adapter with its hashes. Stored values are kept exactly as given.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PlainValidator, create_model

from accounts.payloads import Shape, check_shape
from training.trainer.spec import DEFAULT_TARGET_MODULES, HYPERPARAMETERS

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _target_modules(value):
    if value == "all-linear" or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError('must be "all-linear" or a non-empty list of module names')


def _hyperparameter(kind: type, default, low, high):
    annotation = kind if default is not None else kind | None
    return annotation, Field(default=default, ge=low, le=high)


RunHyperparameters = create_model(
    "RunHyperparameters",
    __base__=Shape,
    __doc__="TrainingRun.hyperparameters: the trainer's table, plus target_modules and the run-only model_line.",
    **{name: _hyperparameter(kind, default, low, high) for name, (kind, default, low, high) in HYPERPARAMETERS.items()},
    target_modules=(Annotated[list[str] | Literal["all-linear"], PlainValidator(_target_modules)],
                    Field(default_factory=lambda: list(DEFAULT_TARGET_MODULES))),
    # Stored with the run, never passed to the trainer; its rule is training.services.runs.is_line_name.
    model_line=(str | None, None),
)


class CarriedFolder(Shape):
    """A folder under the data root published to the artifact store: its key and {file: sha256}."""

    key: str
    files: dict[str, Sha256]


class Checkpoint(Shape):
    step: int | None
    path: str


class StoredCheckpoint(Shape):
    """The checkpoint a retry resumes from (training.checkpoint_store): its step, key and {file: sha256}
    (no hashes without a remote store)."""

    step: int
    key: str
    files: dict[str, Sha256]


class RunArtifacts(Shape):
    """TrainingRun.artifacts."""

    base_model: CarriedFolder | None = None
    checkpoints: list[Checkpoint] = []
    checkpoint: StoredCheckpoint | None = None
    log: str | None = None
    adapter_dir: str | None = None
    adapter: dict[str, Sha256] | None = None


def check_hyperparameters(values: dict) -> None:
    """ValidationError naming "hyperparameters.<name>" unless `values` fit RunHyperparameters."""
    check_shape(RunHyperparameters, values, field="hyperparameters")


def check_artifacts(values: dict) -> None:
    """ValidationError naming "artifacts.<path>" unless `values` fit RunArtifacts."""
    check_shape(RunArtifacts, values, field="artifacts")
