"""Run the pipeline's CPU stages (scrub, filters, dedup, split) in a child process.

In embedded mode the worker is a thread of the web server: pure-Python work there holds the
interpreter lock and stalls every page (a 100k-lesson build made /healthz wait seconds). A
child process has its own interpreter. The examples go there and back in chunks: pickling a
100k-example list in one call would itself hold the lock for seconds. Progress comes back
over the same pipe; the parent keeps reporting (each report is a heartbeat and a
cancellation check) and ends the child if the build is cancelled or the parent fails. The
child imports the pipeline modules only, not Django.
"""

import multiprocessing
import traceback
from collections.abc import Callable

from curation.pipeline.runner import EmptyDatasetError, PipelineResult, run_pipeline

_POLL_S = 0.2
# Examples per pickled message: each (un)pickling holds the interpreter lock for about a millisecond.
CHUNK = 200


class PipelineProcessError(RuntimeError):
    """The child process failed; the message says why in one line, `child_traceback` is for the log only."""

    def __init__(self, message: str, child_traceback: str = ""):
        super().__init__(message)
        self.child_traceback = child_traceback


def run_pipeline_in_process(examples: list, config: dict, *, max_samples: int = 3,
                            progress: Callable[[float], None] | None = None) -> PipelineResult:
    """Same as run_pipeline, computed in a child process."""
    progress = progress or (lambda fraction: None)
    context = _context()
    conn, child_conn = context.Pipe()
    child = context.Process(target=_child, args=(child_conn, config, max_samples), daemon=True,
                            name="academy-dataset-pipeline")
    child.start()
    child_conn.close()
    try:
        for start in range(0, len(examples), CHUNK):
            conn.send(examples[start:start + CHUNK])
        conn.send(None)
        return _receive_result(conn, child, progress)
    except (BrokenPipeError, EOFError, ConnectionResetError):
        raise PipelineProcessError(_died(child)) from None
    finally:
        conn.close()
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)


def _receive_result(conn, child, progress) -> PipelineResult:
    fraction, kept, head = None, [], None
    while True:
        if not conn.poll(_POLL_S):
            if not child.is_alive() and not conn.poll(0):
                raise PipelineProcessError(_died(child))
            if fraction is not None:  # the last fraction again: a heartbeat and a cancellation check
                progress(fraction)
            continue
        kind, *payload = conn.recv()
        if kind == "progress":
            fraction = payload[0]
            progress(fraction)
        elif kind == "examples":
            kept.extend(payload[0])
        elif kind == "result":
            head = payload
        elif kind == "done":
            funnel, stats = head
            return PipelineResult(examples=kept, funnel=funnel, stats=stats)
        elif kind == "empty":
            raise EmptyDatasetError(*payload)
        else:
            raise PipelineProcessError(*payload)


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


def _child(conn, config: dict, max_samples: int) -> None:
    try:
        examples = []
        while (chunk := conn.recv()) is not None:
            examples.extend(chunk)
        result = run_pipeline(examples, config, max_samples=max_samples,
                              progress=lambda fraction: conn.send(("progress", fraction)))
    except EmptyDatasetError as exc:
        conn.send(("empty", exc.stage, str(exc), exc.funnel))
    except Exception as exc:  # the parent records the message as the build's error and logs the traceback
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=5)))
    else:
        conn.send(("result", result.funnel, result.stats))
        for start in range(0, len(result.examples), CHUNK):
            conn.send(("examples", result.examples[start:start + CHUNK]))
        conn.send(("done",))
    finally:
        conn.close()
