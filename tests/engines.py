"""Real SPARQL engines for the publish tests: Oxigraph server and Virtuoso open source on 127.0.0.1.

Each engine is started by the tests with a fresh temporary database folder and free ports, waited
for until it answers a query, and stopped after (SIGTERM, then SIGKILL), so no test depends on an
engine a developer happens to run and none is left running. The pytest fixtures are in conftest.py.

Virtuoso's writes go through its *authenticated* endpoints, the only way its stock configuration
allows them: ``/sparql-graph-crud-auth`` (SPARQL 1.1 Graph Store Protocol) and ``/sparql-auth``
(SPARQL 1.1 Update), both with HTTP Digest authentication. Rather than granting SPARQL_UPDATE to the
anonymous "SPARQL" user (which would open the public ``/sparql`` endpoint to writes), the fixture
creates a dedicated publishing account with only the SPARQL_UPDATE role, exactly as the README tells
an operator to do.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

STARTUP_LIMIT = 120.0
"""Seconds an engine may take to answer its first query (generous: a loaded 2-core CI machine)."""
VIRTUOSO_USER = "ckg_publisher"
VIRTUOSO_PASSWORD = "publish-secret"


@dataclass(frozen=True)
class Engine:
    """A running engine's endpoints and the credentials that may write into it."""

    name: str
    query: str          # SPARQL 1.1 Protocol (reads)
    update: str         # SPARQL 1.1 Update
    graph_store: str    # SPARQL 1.1 Graph Store HTTP Protocol
    user: str | None = None
    password: str | None = None
    pid: int | None = None
    """The engine's process (a group leader: benchmarks read the whole group's memory from /proc)."""
    log: Path | None = None
    """The engine's own log (benchmarks count the warnings in it, and show its tail when a load stalls)."""

    def env(self) -> dict[str, str]:
        """The environment variables ``ckg publish`` reads its credentials from."""
        if self.user is None:
            return {}
        return {"CKG_STORE_USER": self.user, "CKG_STORE_PASSWORD": self.password or ""}


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` server installed by the PyPI package of that name, beside our Python."""
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


def virtuoso_binary() -> str | None:
    return shutil.which("virtuoso-t")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "?" + urllib.parse.urlencode({"query": "ASK {}"}), timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _wait_until_up(process: subprocess.Popen, query_url: str, log: Path, name: str) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before answering:\n{_tail(log)}")
        if _answers(query_url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer within {STARTUP_LIMIT:g} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the engine's process group (Virtuoso may fork helpers), then SIGKILL what is left."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:  # whatever is left in the group, even if the leader has gone
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(10)


@contextmanager
def _running(command: list[str], folder: Path, query_url: str, name: str) -> Iterator[subprocess.Popen]:
    log = folder / "engine.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=folder, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_until_up(process, query_url, log, name)
        yield process
    finally:
        _stop(process)


@contextmanager
def oxigraph_server(port: int) -> Iterator[Engine]:
    """Oxigraph server with an on-disk database in a temporary folder (removed after)."""
    binary = oxigraph_binary()
    assert binary, "the oxigraph server binary is not installed"
    with tempfile.TemporaryDirectory(prefix="ckg-oxigraph-") as folder:
        root = f"http://127.0.0.1:{port}/"
        engine = Engine("oxigraph", query=root + "query", update=root + "update", graph_store=root + "store")
        command = [binary, "serve", "--location", str(Path(folder) / "db"), "--bind", f"127.0.0.1:{port}"]
        with _running(command, Path(folder), engine.query, "oxigraph server") as process:
            yield replace(engine, pid=process.pid, log=Path(folder) / "engine.log")


VIRTUOSO_INI = """\
; Generated by tests/engines.py: a throw-away Virtuoso on 127.0.0.1 only.
[Database]
DatabaseFile       = {folder}/virtuoso.db
ErrorLogFile       = {folder}/virtuoso.log
LockFile           = {folder}/virtuoso.lck
TransactionFile    = {folder}/virtuoso.trx
xa_persistent_file = {folder}/virtuoso.pxa
[TempDatabase]
DatabaseFile       = {folder}/virtuoso-temp.db
TransactionFile    = {folder}/virtuoso-temp.trx
[Parameters]
ServerPort         = 127.0.0.1:{sql_port}
DisableUnixSocket  = 1
DirsAllowed        = .
; Buffers (8 KiB pages) for the whole database, as the stock virtuoso.ini's table has them for 4 GB of
; free memory: with 20,000 the 20,000-competency upload outgrew the pool at ~2.9 M triples and Virtuoso
; 7.2 began writing out pages the load was still changing ("Write wait on column page ...", chunks 5x
; slower; README, "Virtuoso open source"). Pages are only taken as they are used: a fresh test engine
; stays at ~0.3 GiB; three loads of 3.3 M triples used 1.3 GiB.
NumberOfBuffers    = 340000
MaxDirtyBuffers    = 250000
CheckpointInterval = 60
; dropping an old graph is one transaction: the stock 50 MB after-image limit aborts it (SR325) above ~1 M triples
TransactionAfterImageLimit = 1500000000
[HTTPServer]
ServerPort         = 127.0.0.1:{http_port}
ServerRoot         = {folder}
ServerThreads      = 10
MaxClientConnections = 10
[SPARQL]
; the stock 10,000-row cap would truncate the comparison queries of the tests
ResultSetMaxRows   = 10000000
MaxQueryExecutionTime = 120
"""


def _isql(sql_port: int, statement: str, folder: Path) -> None:
    """Run one SQL statement as the (fresh database's) dba, to create the publishing account."""
    isql = shutil.which("isql-vt") or shutil.which("isql")
    assert isql, "Virtuoso's isql-vt is not installed"
    result = subprocess.run([isql, str(sql_port), "dba", "dba", f"exec={statement}"], cwd=folder,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or "*** Error" in result.stdout + result.stderr:
        raise RuntimeError(f"isql failed on {statement!r}:\n{result.stdout}\n{result.stderr}")


@contextmanager
def virtuoso_server(http_port: int, sql_port: int) -> Iterator[Engine]:
    """Virtuoso open source (Debian's virtuoso-t) with a generated virtuoso.ini and a fresh database."""
    binary = virtuoso_binary()
    assert binary, "virtuoso-t is not installed"
    with tempfile.TemporaryDirectory(prefix="ckg-virtuoso-") as name:
        folder = Path(name)
        (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(folder=folder, sql_port=sql_port, http_port=http_port))
        root = f"http://127.0.0.1:{http_port}/"
        engine = Engine("virtuoso", query=root + "sparql", update=root + "sparql-auth",
                        graph_store=root + "sparql-graph-crud-auth", user=VIRTUOSO_USER, password=VIRTUOSO_PASSWORD)
        command = [binary, "+foreground", "+configfile", str(folder / "virtuoso.ini")]
        with _running(command, folder, engine.query, "virtuoso") as process:
            _isql(sql_port, f"DB.DBA.USER_CREATE('{VIRTUOSO_USER}', '{VIRTUOSO_PASSWORD}'); "
                            f"GRANT SPARQL_UPDATE TO \"{VIRTUOSO_USER}\";", folder)
            yield replace(engine, pid=process.pid, log=folder / "virtuoso.log")
