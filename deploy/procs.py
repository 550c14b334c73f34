"""Child processes of the example, the tests and the benchmarks: wait until one answers, stop it for good.

One place for both, because every copy of them got something wrong once: a server that died during
start-up was waited for until the time limit, a gunicorn worker or an engine's helper outlived its
master and held the port, a process was never reaped. Importable from tests (the repository is on
their path) and from benchmarks run as scripts (they put the repository first on ``sys.path``).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None:
        return ""
    try:
        return "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "\n(no log)"


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a GET of ``url`` answers 200 within ``timeout`` seconds (a refused connection, an error status,
    a timeout: not yet)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):  # URLError, HTTPError, ConnectionError and TimeoutError are OSErrors
        return False


def wait_until(process: subprocess.Popen, ready: Callable[[], bool], what: str, limit: float,
               log: Path | None = None, every: float = 0.1) -> None:
    """Return once ``ready()`` is true; raise RuntimeError (with the log's tail) if the process exits first
    or ``limit`` seconds pass: a server that crashed at start-up is reported at once, not after the limit."""
    deadline = time.monotonic() + limit
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before answering:{_tail(log)}")
        if ready():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {limit:g} s:{_tail(log)}")
        time.sleep(every)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


def stop(process: subprocess.Popen, grace: float = 15.0, *, group: bool = False, term_group: bool = False) -> int:
    """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; always reaped. Returns the exit status.

    ``group``: the process leads its own process group (started with ``start_new_session=True``), and
    whatever of that group is left after the grace period — gunicorn workers, their query processes, an
    engine's helpers — is killed too, even when the leader itself has exited.
    ``term_group``: SIGTERM goes to the whole group (an engine that forks helpers), not to the leader
    alone (a gunicorn master, which stops its workers gracefully itself). Implies ``group``.
    """
    group = group or term_group
    if process.poll() is None:
        if term_group:
            _signal_group(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    if group:
        _signal_group(process.pid, signal.SIGKILL)
    elif process.poll() is None:
        process.kill()
    return process.wait()
