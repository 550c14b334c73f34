"""Files a site from an engine derives from one full read, written by a child process once for every worker.

Why a child process and not the worker: at 20,000 competencies the full read, its regrouping and the
writing take a minute or more of CPU and 3-4 GiB. In a worker, that memory stayed with the worker for its
life and its other requests queued behind the GIL meanwhile; every worker paid it again. A child process
(``python -m service.store_write``) returns its memory when it exits, and one child serves every worker:

- the worker that finds no finished write takes the folder's lock (non-blocking) and hands it to the
  child, which holds it until it exits; a worker that cannot take the lock knows a child is writing;
  the same goes for the site's ``gate``, so one child at a time writes anything for a site;
- the child writes the marker ``{folder}.done`` last, holding this site's token (made once in gunicorn's
  master, so every worker of this site knows it, and a later site never takes an earlier site's files; a
  published graph's token is its IRI's digest, so replicas following it take each other's, see
  ``service.site_files``);
- a request waits for the child at most ``wait`` seconds, one thread per worker at a time; past that, or
  while another thread waits, it is answered 503 with ``Retry-After`` (``StillWriting``), so no client can
  hold every thread of a worker;
- a failed write is said (502, the child's message) to every request for ``FAILURE_PAUSE`` seconds before
  the next attempt, so an engine that is down does not make every request start a process.

The job (engine URL, graph, folders) goes to the child in an environment variable, not in its arguments:
a URL may carry credentials, and arguments are visible to every user of the machine.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, TypeVar

from .engine import EngineError

JOB_VARIABLE = "CKG_STORE_WRITE_JOB"
T = TypeVar("T")
FAILURE_PAUSE = 30.0
"""Seconds a failed write is reported as is before a request may start another."""


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


class StillWriting(EngineError):
    """The files are being written: 503, and when to ask again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(503, message, retry_after)


def marker_of(folder: Path) -> Path:
    """The file a child writes last, holding the site's token, when ``folder`` is complete."""
    return folder.with_name(folder.name + ".done")


def marked(marker: Path, token: str) -> bool:
    """Whether ``marker`` says its folder was written for the site with ``token``."""
    try:
        return marker.read_text(encoding="utf-8") == token
    except OSError:
        return False


class BackgroundWrite:
    """One write of ``folder`` (module docstring): ``result()`` is the folder once the child has finished."""

    def __init__(self, folder: Path, job: dict[str, Any], token: str, what: str, wait: float = 20.0,
                 gate: Path | None = None):
        self.folder = folder
        self.gate = gate
        """A lock file shared by every write of a site: one child at a time, whatever it writes (each may hold
        gigabytes at 20,000 competencies, and a client could ask for every release's files at once)."""
        self.job = {**job, "folder": str(folder), "marker": str(self.marker), "token": token}
        self.token = token
        self.what = what
        """What is written, for messages ("the CASE packages")."""
        self.wait = wait
        self.command = [sys.executable, "-m", "service.store_write"]
        """The child; it reads its job from ``JOB_VARIABLE`` and keeps the locked descriptors it inherits open."""
        self._done = False
        self._child: subprocess.Popen | None = None
        self._started = 0.0
        self._waiting = threading.Lock()
        self._loading = threading.Lock()
        self._loaded: Any = None

    @property
    def marker(self) -> Path:
        return marker_of(self.folder)

    @property
    def log(self) -> Path:
        return self.folder.with_name(self.folder.name + ".log")

    @property
    def failure(self) -> Path:
        return self.folder.with_name(self.folder.name + ".failed")

    def _finished(self) -> bool:
        self._done = self._done or marked(self.marker, self.token)
        return self._done

    def result(self) -> Path:
        """The written folder; starts the child if none is writing, waits a bounded time, else raises."""
        if self._finished():
            return self.folder
        if not self._waiting.acquire(blocking=False):  # another thread of this worker waits already
            raise self._still_writing()
        try:
            deadline = time.monotonic() + self.wait
            while not self._finished():
                self._start_unless_writing()
                if time.monotonic() >= deadline:
                    raise self._still_writing()
                time.sleep(0.05)
            return self.folder
        finally:
            self._waiting.release()

    def loaded(self, load: Callable[[Path], T]) -> T:
        """``load(folder)`` once the files are written (``result``), made once and kept with this write: what a
        worker reads from the files (an index, a manifest) lives as long as the files it was read from do, and a
        site that writes its folder again (``SiteFiles``, when it was removed) reads them again."""
        folder = self.result()
        found = self._loaded
        if found is None:
            with self._loading:
                found = self._loaded
                if found is None:
                    found = self._loaded = load(folder)
        return found

    def _still_writing(self) -> StillWriting:
        since = f" (started {time.monotonic() - self._started:.0f} s ago in this worker)" if self._started else ""
        return StillWriting(f"{self.what} of this site are being written from the engine, once for every worker"
                            f"{since}; ask again in a few seconds", retry_after=10)

    def _start_unless_writing(self) -> None:
        child = self._child
        if child is not None and child.poll() is None:
            return
        self._child = None
        if child is not None and not self._finished():
            self._fail(child.returncode)
        self._raise_recent_failure()
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        paths = [self.folder.with_name(f".{self.folder.name}.lock"), *([self.gate] if self.gate else [])]
        locks = [os.open(path, os.O_RDWR | os.O_CREAT, 0o644) for path in paths]
        try:
            if not all(_try_lock(lock) for lock in locks):
                return  # a child (of any worker) holds one: this folder, or the site's one child at a time
            if self._finished():
                return
            self._raise_recent_failure()
            with open(self.log, "wb") as log:
                # the child inherits the locked descriptors and so holds the locks until it exits
                self._child = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                               stdout=log, stderr=subprocess.STDOUT, pass_fds=tuple(locks),
                                               env={**os.environ, JOB_VARIABLE: json.dumps(self.job)})
            self._started = time.monotonic()
            threading.Thread(target=self._child.wait, daemon=True).start()  # reaped even if nobody asks again
        finally:
            for lock in locks:
                os.close(lock)  # our copy: a lock taken here and not handed to a child is released with it

    def _fail(self, returncode: int) -> None:
        """Our child ended without finishing: keep its last words for every worker for a while, and say them."""
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            lines = []
        message = lines[-1][:500] if lines else f"the writing process ended with status {returncode}"
        self.failure.write_text(json.dumps({"token": self.token, "at": time.time(), "message": message}), encoding="utf-8")
        raise self._failed(message)

    def _failed(self, message: str) -> EngineError:
        return EngineError(502, f"{self.what} of this site could not be written from the engine: {message}")

    def _raise_recent_failure(self) -> None:
        try:
            failed = json.loads(self.failure.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if failed.get("token") == self.token and time.time() - failed.get("at", 0) < FAILURE_PAUSE:
            raise self._failed(failed.get("message", ""))
