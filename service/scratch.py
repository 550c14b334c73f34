"""The service's own temporary files live in one folder that is removed when the service stops.

Without ``CKG_DOWNLOADS_DIR`` each worker writes the release files of ``/downloads/`` (and the CASE
packages) into a fresh temporary folder; they used to stay behind after every run. ``ckg serve``
makes one private folder the default temporary folder of its whole process tree before gunicorn
forks anything, so every worker and query process writes below it, and the master removes it once
gunicorn has stopped its workers (SIGTERM or SIGINT). A worker leaving (gunicorn replaces workers)
unwinds through the same code, so only the process that made the folder removes it. A ``kill -9``
of the master cannot clean up after itself, so the folder's name carries the master's process id
(``ckg-serve-<pid>-*``) and the next ``ckg serve`` removes the folders of masters that no longer run.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


PREFIX = "ckg-serve-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def remove_abandoned(parent: Path | None = None) -> list[Path]:
    """Remove our folders left by masters that were killed (``kill -9``, a crash, a power cut).

    Only folders of this user whose master's process id no longer runs; a reused id keeps its
    folder (harmless: it goes the next time), never the other way round.
    """
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(PREFIX + "*-*"):
        pid = folder.name[len(PREFIX):].split("-", 1)[0]
        try:
            owned = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if pid.isdigit() and owned and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def private_temporary_folder() -> Iterator[Path]:
    """Make a fresh folder the default for :mod:`tempfile` in this process and its children; remove it after."""
    remove_abandoned()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    owner, previous = os.getpid(), tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        if os.getpid() == owner:  # a forked worker unwinding through here leaves the folder to the master
            tempfile.tempdir = previous
            shutil.rmtree(folder, ignore_errors=True)
