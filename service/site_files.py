"""Where a site served from an engine keeps the files its child processes write, and the writes themselves.

One object per site, made in gunicorn's master (``service.store_site.build_site``) so that every worker of
the site shares its token and folders. Three kinds of files are derived from the engine, each by a child
process (``service.background_write``, ``service.store_write``):

- ``site``: the release files of the current graph (``/downloads/``);
- ``case``: the two CASE packages of the current graph and their index (``service.case_files``), apart from
  the release files so that the CASE API answers as soon as they are written (at 20,000 competencies the
  whole release takes the child twice as long);
- ``changes``: the change set of every release, derived in the engine (the feed, What-changed pages);
- ``release``: the files of one release (``/release/<version>/catalogue.ttl``...).

With ``CKG_DOWNLOADS_DIR`` they go there (the release files) and beside it (``-case``, ``-changes``, ``-releases/``),
so replicas and restarts can share them; else into a private temporary folder of this service, removed
when the master exits, a site's own part of it when the site after it is replaced (``close``).
"""
from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from .background_write import BackgroundWrite

FULL_READ_TIMEOUT = 300.0
"""Seconds a child waits for the engine's next bytes: a full read may take minutes to start on some engines."""


class SiteFiles:
    """The folders and child writes of one site (module docstring)."""

    def __init__(self, downloads_dir: str | None, store: str, graph: str | None, base: str, timeout: float):
        self.token = secrets.token_hex(8)
        self.private = None if downloads_dir else _private_folder() / self.token
        self.downloads = Path(downloads_dir) if downloads_dir else self.private / "release"
        self.job: dict[str, Any] = {"store": store, "graph": graph, "base": base,
                                    "timeout": max(timeout, FULL_READ_TIMEOUT)}
        self.gate = (self.private or self.downloads.parent) / ".ckg-writer.lock"
        """One child at a time for this site, whatever it writes (``BackgroundWrite.gate``)."""
        self._writes: dict[str, BackgroundWrite] = {}

    def _write(self, key: str, folder: Path, what: str, **job: Any) -> BackgroundWrite:
        found = self._writes.get(key)
        if found is None:
            found = self._writes.setdefault(key, BackgroundWrite(folder, {**self.job, **job}, self.token, what,
                                                                 gate=self.gate))
        return found

    def site(self) -> BackgroundWrite:
        return self._write("site", self.downloads, "the release files", kind="site")

    def case(self) -> BackgroundWrite:
        return self._write("case", self._beside("case"), "the CASE packages", kind="case")

    def changes(self) -> BackgroundWrite:
        return self._write("changes", self._beside("changes"), "the change sets of the releases", kind="changes")

    def release(self, version: str) -> BackgroundWrite:
        return self._write("release " + version, self._beside("releases") / version, f"the files of release {version}",
                           kind="release", version=version)

    def _beside(self, name: str) -> Path:
        """A folder of this site next to its release files: in the private folder, or ``{CKG_DOWNLOADS_DIR}-name``."""
        return self.private / name if self.private else Path(str(self.downloads).rstrip("/") + "-" + name)

    def close(self) -> None:
        """The site is no longer served: remove its private files (shared folders stay)."""
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)


@cache
def _private_folder() -> Path:
    """This service's private temporary folder, made in the master once, removed when the master exits."""
    root = Path(tempfile.mkdtemp(prefix="ckg-store-"))
    atexit.register(_remove, root, os.getpid())
    return root


def _remove(root: Path, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked worker, which runs the same exit handlers
        shutil.rmtree(root, ignore_errors=True)
