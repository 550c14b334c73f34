"""Serve the app with gunicorn, the production WSGI server, started from Python (``ckg serve``).

The app is built in gunicorn's master process before any worker exists (``preload_app``): the
catalogue is compiled and the Oxigraph store filled once, and every worker — and every SPARQL query
process a worker forks — shares that memory copy-on-write instead of rebuilding it.

Workers: :class:`service.worker.RequestReadingWorker`, gunicorn's ``gthread`` worker whose event
loop reads every request whole before a thread serves it, so a slow or idle client never holds a
thread (and a slow SPARQL query holds one thread, not a whole process). Each worker forks its SPARQL query processes (one per thread) right after it starts,
before it serves anything.

Reloads (SIGHUP, or ``--watch``) run in the master, one at a time, in :class:`ReloadingArbiter`:
a catalogue of 20,000 competencies takes about a minute to compile, so signals keep coming while a
rebuild runs. All the SIGHUPs waiting when the master looks at its signals become one rebuild,
which reads the catalogue as it is then: whatever arrives during a rebuild is served by exactly one
more, and the backlog is never more than that one. While it compiles the master does nothing else
(the workers serve on; a worker that dies meanwhile is replaced after the rebuild).
"""
from __future__ import annotations

import signal
import sys
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from .config import ServiceConfig
from .engine import shown
from .reload import PublicationWatcher, Reloader, Watcher
from .sparql.blueprint import query_pool
from .sparql.pool import sparql_threads


def _start_query_processes(worker: Any) -> None:
    """gunicorn ``post_worker_init`` hook: fork this worker's query processes while it is single-threaded."""
    app: Flask = worker.wsgi
    query_pool(app.extensions["ckg"])


def coalesced(signals: list[int]) -> list[int]:
    """The signals to handle, with every SIGHUP after the first dropped: one rebuild reads every edit so far."""
    seen_hup = False
    kept = []
    for sig in signals:
        if sig == signal.SIGHUP:
            if seen_hup:
                continue
            seen_hup = True
        kept.append(sig)
    return kept


class ReloadingArbiter(Arbiter):
    """gunicorn's master, with reloads coalesced and workers replaced only when the catalogue compiled."""

    def wait_for_signals(self, timeout: float = 1.0) -> list[int]:
        return coalesced(super().wait_for_signals(timeout))

    def reload(self) -> None:
        if self.app.reloader.rebuild():
            super().reload()  # reads the new app from Server.reload, forks new workers, waits for the old to stop
            self.app.reloader.swapped()


class Server(BaseApplication):
    """gunicorn, configured from a :class:`ServiceConfig` and serving an already-built Flask app."""

    def __init__(self, app: Flask, config: ServiceConfig, *, access_log: bool = False, watch: bool = False) -> None:
        self.reloader = Reloader(app, config)
        self.config = config
        self.access_log = access_log
        self.watch = watch
        super().__init__()

    def load_config(self) -> None:
        # The threads SPARQL may hold (running + waiting) come on top of those that serve everything else.
        threads = max(1, self.config.threads) + sparql_threads(self.config.sparql_slots)
        settings = {
            "bind": f"{self.config.host}:{self.config.port}" if ":" not in self.config.host
            else f"[{self.config.host}]:{self.config.port}",
            "workers": max(1, self.config.workers),
            "worker_class": "service.worker.RequestReadingWorker",
            "threads": threads,
            "preload_app": True,
            # A worker waiting on a SPARQL query is busy, not hung: give it the query limit and then some.
            "timeout": max(30, int(self.config.query_timeout * 2) + 10),
            # Old workers finish what they hold on SIGTERM (shutdown, reload): a SPARQL query may take its limit.
            "graceful_timeout": max(5, int(self.config.query_timeout) + 5),
            "keepalive": self.config.keepalive,
            "worker_connections": self.config.max_connections,
            # A stalled reader must time out (SO_SNDTIMEO); Python waits on sendfile() without limit.
            "sendfile": False,
            # GET carries the query in the URL: allow the longest request line gunicorn can bound (4 KB by
            # default); longer queries go by POST, as every SPARQL client does for long queries.
            "limit_request_line": 8190,
            "post_worker_init": _start_query_processes,
            "when_ready": self._announce,
            "proc_name": "ckg-serve",
            "accesslog": "-" if self.access_log else None,
            "errorlog": "-",
            "loglevel": "warning",
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def _announce(self, arbiter: Any) -> None:
        if self.watch:
            Watcher(self.config.catalog_dir).start()
        site = self.reloader.app.extensions["ckg"]
        if site.reading is not None and site.reading.follows:
            PublicationWatcher(self.config.store, site.reading.follows, site.reading.graph).start()
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        root = f"http://{host}:{self.config.port}/"
        what = f"{len(site.graph):,} triples" if site.graph is not None else f"the catalogue in {shown(self.config.store)}"
        print(f"Serving {what} (base IRI {site.base}) at {root}\n"
              f"  SPARQL endpoint: {root}sparql  (query time limit {self.config.query_timeout:g} s, "
              f"at most {self.config.max_results:,} results)\n"
              f"  {self.config.workers} worker(s) x {max(1, self.config.threads)} thread(s); Ctrl-C to stop.",
              file=sys.stderr, flush=True)

    def load(self) -> Flask:
        return self.reloader.app

    def reload(self) -> None:
        """After a good rebuild: gunicorn forks the next workers from the app this hands to ``wsgi()``."""
        super().reload()
        self.callable = self.reloader.app

    def run(self) -> None:
        try:
            ReloadingArbiter(self).run()
        except RuntimeError as error:  # what BaseApplication.run does with gunicorn's start-up errors
            print(f"\nError: {error}\n", file=sys.stderr, flush=True)
            sys.exit(1)


def serve(app: Flask, config: ServiceConfig, *, access_log: bool = False, watch: bool = False) -> None:
    """Run gunicorn in this process until it is stopped (SIGINT/SIGTERM); SIGHUP reloads the catalogue."""
    Server(app, config, access_log=access_log, watch=watch).run()
