"""`python -m training.trainer --spec spec.json`: train a LoRA adapter, report on stdout.

Exit codes: 0 done, 2 spec, 3 dataset, 4 model_not_found, 5 oom, 6 stopped (SIGTERM: see
training.trainer.stopping), 1 crash; an error or stopped event is always printed before a
non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import traceback
import warnings

from training.trainer import stopping
from training.trainer.errors import TrainerError, is_out_of_memory
from training.trainer.protocol import emit, take_stdout

EXIT_CODES = {"spec": 2, "dataset": 3, "model_not_found": 4, "oom": 5, "crash": 1}


def main(argv: list[str] | None = None) -> int:
    take_stdout()
    stopping.install()
    _quiet_libraries()
    parser = argparse.ArgumentParser(prog="python -m training.trainer", description="Train a LoRA adapter.")
    parser.add_argument("--spec", required=True, type=pathlib.Path, help="run spec (JSON)")
    args = parser.parse_args(argv)
    try:
        from training.trainer.run import execute, resolve_paths
        from training.trainer.spec import load_spec

        spec = resolve_paths(load_spec(args.spec), args.spec.resolve().parent)
        metrics = execute(spec)
    except stopping.Stopped as exc:
        # The step of the checkpoint it saved on the way out (None: stopped outside the training loop).
        emit("stopped", step=exc.step, reason="SIGTERM")
        return stopping.EXIT_CODE
    except TrainerError as exc:
        return _fail(exc.kind, exc.message, exc.details)
    except KeyboardInterrupt:
        return _fail("crash", "interrupted")
    except BaseException as exc:  # noqa: BLE001 - every failure must become an error event
        traceback.print_exc(file=sys.stderr)
        if is_out_of_memory(exc):
            from training.trainer.errors import OOM_MESSAGE

            return _fail("oom", OOM_MESSAGE)
        return _fail("crash", f"{type(exc).__name__}: {exc}")
    emit("done", adapter_dir="adapter", metrics=metrics)
    return 0


def _fail(kind: str, message: str, details: list[str] | None = None) -> int:
    emit("error", kind=kind, message=message, details=details or [])
    return EXIT_CODES.get(kind, 1)


def _quiet_libraries() -> None:
    """Library chatter goes to stderr (log lines); progress bars are noise in a log."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    # Deprecation notices of the libraries (FutureWarning) say nothing about this run.
    warnings.filterwarnings("ignore", category=FutureWarning)


if __name__ == "__main__":
    sys.exit(main())
