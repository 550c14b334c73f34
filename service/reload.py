"""Reload without downtime: build the next app in gunicorn's master, keep the last good one on problems.

gunicorn replaces workers gracefully on SIGHUP: the master reloads its application, forks a fresh
set of workers and sends SIGTERM to the old ones, which stop accepting and finish the requests they
hold. With ``preload_app`` the workers are forked from whatever app the master holds, so a reload
only has to compile the new catalogue in the master (the workers keep serving the old one
meanwhile) and, when it compiled, let gunicorn fork from it (see :mod:`service.server`). A catalogue
with problems changes nothing but the report: the workers stay as they are, and learn of the failure
through the :class:`~service.status.ReloadBoard` they share with the master. At most two compiled
catalogues exist in the master at once, old and new, and the old one is released as soon as the new
one is in place.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from pathlib import Path

from flask import Flask

from linking.esco import EscoImportError
from ontology.problems import CatalogueError

from .config import ServiceConfig
from .engine import shown
from .status import ReloadBoard, ReloadResult, Status, attach, now_iso, status_of

FOLLOW_INTERVAL = 5.0
"""Seconds between two questions to the engine about its current graph (``--store``): a cheap query."""


class Reloader:
    """The app the master serves now, and how to replace it with a freshly compiled one."""

    def __init__(self, app: Flask, config: ServiceConfig) -> None:
        self.app = app
        self.config = config
        self.board = ReloadBoard()
        self._retired: Flask | None = None
        """The app before this one: its old workers may still be finishing requests with its files."""
        self._closing: Flask | None = None
        attach(app, Status.of(app.extensions["ckg"], self.board))

    def rebuild(self) -> bool:
        """Compile the catalogue again; True when a new app is in place (the workers must then be replaced,
        and :meth:`swapped` called).

        On problems the current app stays and False is returned: nothing is forked or stopped.
        """
        from .app import create_app  # the factory imports the blueprints, which need not load before serving

        started = time.monotonic()
        self.board.reloading()
        try:
            app = create_app(self.config)
        except CatalogueError as error:
            return self._failed([str(problem) for problem in error.problems])
        except (EscoImportError, OSError) as error:
            return self._failed([f"{self.config.catalog_dir}: {error}"])
        except Exception as error:  # noqa: BLE001 - an exception here would end gunicorn's master: keep serving
            return self._failed([f"internal error while reloading: {type(error).__name__}: {error}"])
        status = Status.of(app.extensions["ckg"], self.board)
        attach(app, status)
        self._retired, self.app = self.app, app
        gc.collect()  # the previous app's graph and store go now, not at some later collection
        print(f"Reloaded {shown(self.config.store) if self.config.store else self.config.catalog_dir}: {status.facts['triples']:,} triples, version "
              f"{status.facts['version']}, in {time.monotonic() - started:.1f} s.", file=sys.stderr, flush=True)
        return True

    def swapped(self) -> None:
        """The new workers serve: only now may /status say the reload went through (an old worker
        answering before would report "ok" beside its old graph).

        The site before the one just retired is closed (its private files removed): its workers are gone."""
        self.board.finished(ReloadResult("ok", now_iso()))
        older, self._closing = self._closing, self._retired
        if older is not None:
            older.extensions["ckg"].close()

    def _failed(self, problems: list[str]) -> bool:
        for problem in problems:
            print(problem, file=sys.stderr)
        facts = status_of(self.app).facts
        print(f"Reload refused: {len(problems)} problem(s) in {self.config.catalog_dir}; still serving version "
              f"{facts['version']} loaded {facts['loaded']} (workers left as they are).", file=sys.stderr, flush=True)
        self.board.finished(ReloadResult("failed", now_iso(), problems))
        return False


def _snapshot(folder: Path) -> frozenset[tuple[str, int, int]]:
    """Every file below ``folder`` by path, modification time and size (editor back-ups and dot files left out)."""
    seen = set()
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = [name for name in subdirectories if not name.startswith(".")]
        for name in files:
            if name.startswith(".") or name.endswith("~"):
                continue
            path = os.path.join(directory, name)
            try:
                info = os.stat(path)
            except OSError:  # removed between the listing and the stat: the next poll sees it gone
                continue
            seen.add((path, info.st_mtime_ns, info.st_size))
    return frozenset(seen)


class Watcher(threading.Thread):
    """Polls the catalogue folder every second and sends the master SIGHUP when anything changed.

    A thread rather than a dependency (inotify): one stat per file per second is nothing next to a
    catalogue's build, and it works on every file system. It runs in the master only (a forked
    worker has no copy of it) and takes no lock a forked child could inherit held: it only stats
    files and signals.
    """

    def __init__(self, folder: str | Path, interval: float = 1.0) -> None:
        super().__init__(name="ckg-watch", daemon=True)
        self.folder = Path(folder)
        self.interval = interval
        self.master = os.getpid()

    def run(self) -> None:
        last = _snapshot(self.folder)
        while True:
            time.sleep(self.interval)
            now = _snapshot(self.folder)
            if now != last:
                last = now
                os.kill(self.master, signal.SIGHUP)


class PublicationWatcher(threading.Thread):
    """With ``--store``: asks the engine every few seconds which graph is current, and reloads when it moved.

    ``ckg publish`` switches a name to a fresh graph and drops the graph before the previous one at the
    publish after, so a front end must follow within one publish (exports.publication). The reload is
    the SIGHUP one (a new site, fresh caches and downloads, workers replaced gracefully): answers of the
    old graph are never mixed with the new. An engine that does not answer is asked again next time.
    """

    def __init__(self, url: str, follows: str, graph: str | None, interval: float = FOLLOW_INTERVAL) -> None:
        super().__init__(name="ckg-follow", daemon=True)
        self.url, self.follows, self.graph, self.interval = url, follows, graph, interval
        self.master = os.getpid()

    def run(self) -> None:
        from .engine import Engine, EngineError
        from .store_catalogue import current_graph_in

        engine = Engine(self.url, timeout=self.interval)
        while True:
            time.sleep(self.interval)
            try:
                now = current_graph_in(engine, self.follows)
            except EngineError:
                continue
            if now is not None and now != self.graph:
                self.graph = now
                os.kill(self.master, signal.SIGHUP)
