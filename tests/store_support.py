"""Servers whose SPARQL endpoint answers from an engine (``ckg serve --store``), for the tests that compare modes.

Each engine is a fresh one of this module's own (not the publish tests' engines, which those tests
republish and break on purpose), loaded once per session with the bundled catalogue by the real
``ckg publish``; the server in front of it is started with the same settings as ``live_server``, so the
protocol tests can run unchanged against the embedded store and each engine.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import (LIVE_MAX_RESULTS, LIVE_QUERY_TIMEOUT, LIVE_SLOTS, LIVE_THREADS, LIVE_WORKERS, ROOT,
                      free_port, skip_reason, start_server)
from engines import Engine, oxigraph_binary, oxigraph_server, virtuoso_binary, virtuoso_server

ENGINES = ("oxigraph", "virtuoso")
MODES = ("embedded",) + ENGINES
LIVE_ARGS = ("--workers", str(LIVE_WORKERS), "--threads", str(LIVE_THREADS), "--sparql-slots", str(LIVE_SLOTS),
             "--query-timeout", str(LIVE_QUERY_TIMEOUT), "--max-results", str(LIVE_MAX_RESULTS))


def publish_folder(engine: Engine, catalogue: Path, graph: str, *args: str) -> None:
    """``ckg publish -q CATALOGUE --graph GRAPH`` (then ``args``) into ``engine``; the test fails on its errors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")} | engine.env()
    result = subprocess.run([sys.executable, "-m", "ckg.cli", "publish", "-q", str(catalogue), "--graph-store",
                             engine.graph_store, "--graph", graph, *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr


def http_get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    """Status and body of a GET, error statuses included (urllib raises on those)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def until_written(client, path: str):
    """``client``'s answer for ``path`` once it is not a 503 (a site from an engine writes some files in a child
    first, ``service.background_write``); asks for at most 30 s."""
    for _ in range(600):
        answer = client.get(path)
        if answer.status_code != 503:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"{path} still 503 after 30 s")


def publish_bundled(engine: Engine) -> None:
    """``ckg publish`` of the bundled catalogue into ``engine``'s graph store (its default graph IRI)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    environment.update(engine.env())
    result = subprocess.run([sys.executable, "-m", "ckg.cli", "publish", "--graph-store", engine.graph_store],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


@contextmanager
def started_engine(name: str) -> Iterator[Engine]:
    """A fresh engine of that kind, loaded with the bundled catalogue; skipped where it is not installed."""
    if name == "oxigraph":
        if not oxigraph_binary():
            pytest.skip(skip_reason("the oxigraph server (pip install oxigraph, in the test extra)"))
        context = oxigraph_server(free_port())
    else:
        if not virtuoso_binary():
            pytest.skip(skip_reason("virtuoso-t (apt-get install virtuoso-opensource)"))
        context = virtuoso_server(free_port(), free_port())
    with context as engine:
        publish_bundled(engine)
        yield engine


@contextmanager
def served_from(engine: Engine, *args: str) -> Iterator[str]:
    """``ckg serve --store <engine>`` with the live settings (then ``args``); yields its root URL."""
    with start_server(*LIVE_ARGS, "--store", engine.query, *args) as url:
        yield url


class Modes:
    """The session's engine-backed servers, started on first use and stopped at the end of the session."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self.engines: dict[str, Engine] = {}
        self.servers: dict[str, str] = {}

    def engine(self, name: str) -> Engine:
        if name not in self.engines:
            self.engines[name] = self._stack.enter_context(started_engine(name))
        return self.engines[name]

    def server(self, name: str) -> str:
        if name not in self.servers:
            self.servers[name] = self._stack.enter_context(served_from(self.engine(name)))
        return self.servers[name]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def modes() -> Iterator[Modes]:
    holder = Modes()
    try:
        yield holder
    finally:
        holder.close()


@pytest.fixture(scope="session", params=MODES)
def mode_server(request, live_server: str, modes: Modes) -> str:
    """The root URL of a server in each mode: embedded (``live_server``), then in front of each engine."""
    return live_server if request.param == "embedded" else modes.server(request.param)


@pytest.fixture(scope="session")
def sparql_endpoint(mode_server: str) -> str:
    """Overrides conftest's: the SPARQL endpoint of the server in each mode (a module that imports this runs
    its tests against the embedded store and each engine)."""
    return mode_server + "sparql"
