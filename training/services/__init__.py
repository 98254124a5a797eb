"""Training workflows: start, cancel and retry runs; claim and finish them; worker heartbeats.

`on_run_succeeded` is a plain list of callables; downstream apps (the model registry)
append to it from their AppConfig.ready(). Each is called with the run, after the
success has been committed.
"""

from training.services.hooks import on_run_succeeded
from training.services.lifecycle import (
    claim_run,
    finish_run,
    hand_back_run,
    mark_running,
    touch_heartbeat,
)
from training.services.runs import (
    cancel_run,
    check_operate,
    dataset_warnings,
    default_hyperparameters,
    retry_run,
    start_run,
    validate_hyperparameters,
)

__all__ = [
    "cancel_run",
    "check_operate",
    "claim_run",
    "dataset_warnings",
    "default_hyperparameters",
    "finish_run",
    "hand_back_run",
    "mark_running",
    "on_run_succeeded",
    "retry_run",
    "start_run",
    "touch_heartbeat",
    "validate_hyperparameters",
]
