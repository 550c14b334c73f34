"""Where a site served from an engine keeps the files its child processes write, and the writes themselves.

One object per site, made in gunicorn's master (``service.store_site.build_site``) so that every worker of
the site shares its token and folders. Four kinds of files are derived from the engine, each by a child
process (``service.background_write``, ``service.store_write``):

- ``site``: the release files of the current graph (``/downloads/``);
- ``case``: the two CASE packages of the current graph and their index (``service.case_files``), a folder of
  their own so that the CASE API answers as soon as they are written (at 20,000 competencies the whole
  release takes twice as long); one child writes both from one full read, the part asked for first;
- ``changes``: the change set of every release, derived in the engine (the feed, What-changed pages);
- ``release``: the files of one release (``/release/<version>/catalogue.ttl``...).

A site's files live in one folder of its own (``release/``, ``case/``, ``changes/``, ``releases/<version>/``):

- with ``CKG_DOWNLOADS_DIR`` and a graph made current by ``ckg publish`` (every publish loads a fresh graph,
  never changed after), in ``{CKG_DOWNLOADS_DIR}/graph-<digest of the graph IRI>``, and the digest is the
  site's token: every replica and restart following that graph shares one write, and replicas following
  different graphs (for a moment during a publish) never write into each other's files. Such folders not
  used for ``STALE_AFTER`` are removed when a site is built (each publish leaves one behind: gigabytes at
  20,000 competencies);
- else (a graph loaded by other tools, whose content may change under the same IRI), in a folder of the site
  alone, with a random token: ``{CKG_DOWNLOADS_DIR}/site-<token>``, or a private temporary folder of this
  service, removed when the master exits. Either is removed when the site after it is replaced (``close``).
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

from .background_write import BackgroundWrite, marker_of

FULL_READ_TIMEOUT = 300.0
"""Seconds a child waits for the engine's next bytes: a full read may take minutes to start on some engines."""


class SiteFiles:
    """The folders and child writes of one site (module docstring)."""

    def __init__(self, downloads_dir: str | None, store: str, graph: str | None, base: str, timeout: float,
                 published: bool = False):
        """``published``: ``graph`` was made current by ``ckg publish`` (a pointer names it), so its content never changes."""
        shared = bool(downloads_dir and graph and published)
        self.token = hashlib.sha256(graph.encode("utf-8")).hexdigest()[:16] if shared and graph else secrets.token_hex(8)
        if downloads_dir:
            self.root = Path(downloads_dir) / (("graph-" if shared else "site-") + self.token)
            if shared:
                remove_stale(Path(downloads_dir), base, keep=self.root)
            else:  # this process's own, like the private folder: gone when it exits
                atexit.register(_remove, self.root, os.getpid())
        else:
            self.root = _private_folder() / self.token
        self.shared = shared
        self.base, self.graph = base, graph
        self._touched = 0.0
        self._lock = threading.Lock()
        if shared:
            self._claim()
        self.downloads = self.root / "release"
        self.job: dict[str, Any] = {"store": store, "graph": graph, "base": base,
                                    "timeout": max(timeout, FULL_READ_TIMEOUT)}
        self.gate = self.root / ".ckg-writer.lock"
        """One child at a time for this site, whatever it writes (``BackgroundWrite.gate``)."""
        self._writes: dict[str, BackgroundWrite] = {}

    def _claim(self) -> None:
        """Make the graph's shared folder with the file that says whose it is (``remove_stale`` reads it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / SITE_FILE).write_text(json.dumps({"base": self.base, "graph": self.graph}), encoding="utf-8")
        self._touched = time.monotonic()

    def _in_use(self) -> None:
        """A shared folder is removed by other replicas once nobody used it for ``STALE_AFTER``: say that this
        site still uses it (at most every ``TOUCH_EVERY`` seconds per process), and when it was removed all the
        same (this replica was cut off for a day, or someone cleaned up by hand), write everything again rather
        than answer errors: the writes start afresh, so the next requests get 503 until the files are back."""
        if not self.shared:
            return  # a site's own folder goes only with the site (close)
        marker = self.root / SITE_FILE
        if time.monotonic() - self._touched < TOUCH_EVERY and marker.exists():
            return
        with self._lock:
            try:
                os.utime(marker)
                self._touched = time.monotonic()
            except FileNotFoundError:
                self._writes = {}
                self._claim()

    def _write(self, key: str, folder: Path, what: str, **job: Any) -> BackgroundWrite:
        self._in_use()
        found = self._writes.get(key)
        if found is None:
            found = self._writes.setdefault(key, BackgroundWrite(folder, {**self.job, **job}, self.token, what,
                                                                 gate=self.gate))
        return found

    def site(self) -> BackgroundWrite:
        return self._whole("site", "the release files")

    def case(self) -> BackgroundWrite:
        return self._whole("case", "the CASE packages")

    def _whole(self, part: str, what: str) -> BackgroundWrite:
        """``part`` ("site" or "case"), and the other one after it from the same full read of the graph
        (``service.store_write.write_whole``): whichever is asked for first, the graph is read once for both."""
        folders = {"site": self.downloads, "case": self._beside("case")}
        then = "case" if part == "site" else "site"
        return self._write(part, folders[part], what, kind="whole", part=part, then=then,
                           then_folder=str(folders[then]), then_marker=str(marker_of(folders[then])))

    def changes(self) -> BackgroundWrite:
        return self._write("changes", self._beside("changes"), "the change sets of the releases", kind="changes")

    def release(self, version: str) -> BackgroundWrite:
        return self._write("release " + version, self._beside("releases") / version, f"the files of release {version}",
                           kind="release", version=version)

    def _beside(self, name: str) -> Path:
        """A folder of this site next to its release files."""
        return self.root / name

    def close(self) -> None:
        """The site is no longer served: remove its own files (a graph's shared folder stays for the other replicas)."""
        if not self.shared:
            shutil.rmtree(self.root, ignore_errors=True)


STALE_AFTER = 86_400.0
"""Seconds after its last use a graph's shared folder is removed (by the next site built on that folder): every
site that serves files from it says so at least every ``TOUCH_EVERY`` seconds, so only the folders of graphs no
replica has served for a day go (``SiteFiles._in_use`` writes a folder removed anyway again)."""
TOUCH_EVERY = 600.0
"""Seconds between two "still in use" marks of a shared folder by one process: a file's time, far below ``STALE_AFTER``."""


SITE_FILE = ".ckg-site.json"
"""In a graph's shared folder: the base and graph it holds files of."""


def remove_stale(downloads_dir: Path, base: str, keep: Path) -> None:
    """Remove the graph folders of ``downloads_dir`` (but ``keep``) of the catalogue ``base`` not used for
    ``STALE_AFTER`` seconds (written to, or marked in use by ``SiteFiles._in_use``). Another catalogue's
    folders stay: its replicas may share the folder and follow a graph that has not changed for weeks."""
    now = time.time()
    for folder in downloads_dir.glob("graph-*"):
        try:
            if folder == keep or not folder.is_dir() or now - _last_write(folder) <= STALE_AFTER:
                continue
            if json.loads((folder / SITE_FILE).read_text(encoding="utf-8")).get("base") == base:
                shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):  # removed meanwhile by another replica, or not one of ours
            continue


def _last_write(folder: Path) -> float:
    """The newest modification time of ``folder`` and of what it holds directly (markers, lock, each write's folder)."""
    return max([folder.stat().st_mtime, *(entry.stat().st_mtime for entry in folder.iterdir())])


@cache
def _private_folder() -> Path:
    """This service's private temporary folder, made in the master once, removed when the master exits."""
    root = Path(tempfile.mkdtemp(prefix="ckg-store-"))
    atexit.register(_remove, root, os.getpid())
    return root


def _remove(root: Path, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked worker, which runs the same exit handlers
        shutil.rmtree(root, ignore_errors=True)
