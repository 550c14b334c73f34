"""The service's own temporary files live in one folder that is removed when the service stops.

Without ``CKG_DOWNLOADS_DIR`` each worker writes the release files of ``/downloads/`` (and the CASE
packages) into a fresh temporary folder; they used to stay behind after every run. ``ckg serve``
makes one private folder the default temporary folder of its whole process tree before gunicorn
forks anything, so every worker and query process writes below it, and the master removes it once
gunicorn has stopped its workers (SIGTERM or SIGINT). A worker leaving (gunicorn replaces workers)
unwinds through the same code, so only the process that made the folder removes it. A ``kill -9``
of the master cannot be cleaned up after; its folder is ``ckg-serve-*`` in the system's temporary
folder.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def private_temporary_folder() -> Iterator[Path]:
    """Make a fresh folder the default for :mod:`tempfile` in this process and its children; remove it after."""
    folder = Path(tempfile.mkdtemp(prefix="ckg-serve-"))
    owner, previous = os.getpid(), tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        if os.getpid() == owner:  # a forked worker unwinding through here leaves the folder to the master
            tempfile.tempdir = previous
            shutil.rmtree(folder, ignore_errors=True)
