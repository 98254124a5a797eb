"""Run the pipeline's CPU stages (scrub, filters, dedup, split) in a child process.

In embedded mode the worker is a thread of the web server: pure-Python work there holds the
interpreter lock and stalls every page (a 100k-lesson build made /healthz wait seconds). A
child process has its own interpreter. Its progress comes back over a pipe; the parent keeps
reporting (each report is a heartbeat and a cancellation check) and ends the child if the
build is cancelled or the parent fails. The child imports the pipeline modules only, not Django.
"""

import multiprocessing
import traceback
from collections.abc import Callable

from curation.pipeline.runner import EmptyDatasetError, PipelineResult, run_pipeline

_POLL_S = 0.2


class PipelineProcessError(RuntimeError):
    """The child process failed; the message carries its error."""


def run_pipeline_in_process(examples: list, config: dict, *, max_samples: int = 3,
                            progress: Callable[[float], None] | None = None) -> PipelineResult:
    """Same as run_pipeline, computed in a spawned child process."""
    progress = progress or (lambda fraction: None)
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(send, examples, config, max_samples), daemon=True,
                            name="academy-dataset-pipeline")
    child.start()
    send.close()
    fraction = 0.0
    try:
        while True:
            if receive.poll(_POLL_S):
                try:
                    message = receive.recv()
                except EOFError:
                    raise PipelineProcessError(_died(child)) from None
                kind = message[0]
                if kind == "progress":
                    fraction = message[1]
                elif kind == "done":
                    return message[1]
                elif kind == "empty":
                    raise EmptyDatasetError(*message[1:])
                else:
                    raise PipelineProcessError(message[1])
            elif not child.is_alive():
                raise PipelineProcessError(_died(child))
            progress(fraction)
    finally:
        receive.close()
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)


def _context():
    """A fork server with the pipeline preloaded: children start in milliseconds, not seconds of
    imports, and are forked from a clean single-threaded process, never from the web server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["curation.pipeline.isolated"])
    return context


def _died(child) -> str:
    child.join(timeout=1)
    return f"the dataset pipeline process ended unexpectedly (exit code {child.exitcode})"


def _child(send, examples: list, config: dict, max_samples: int) -> None:
    try:
        result = run_pipeline(examples, config, max_samples=max_samples,
                              progress=lambda fraction: send.send(("progress", fraction)))
    except EmptyDatasetError as exc:
        send.send(("empty", exc.stage, str(exc), exc.funnel))
    except Exception as exc:  # the parent records it as the build's error
        send.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))
    else:
        send.send(("done", result))
    finally:
        send.close()
