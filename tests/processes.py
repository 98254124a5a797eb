"""Child processes the tests start (servers, workers): how one is ended."""

import signal
import subprocess


def end_process(process: subprocess.Popen, timeout: float, sig: int = signal.SIGTERM) -> int:
    """Send `sig` (SIGTERM: a clean stop) unless it has ended; kill it when it has not ended `timeout` seconds
    later. Returns its exit status."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
