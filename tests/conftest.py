"""Shared fixtures: the real server (``ckg serve`` under gunicorn) on a free 127.0.0.1 port.

``live_server`` is started once per test session with the bundled catalogue and a short SPARQL
time limit (2 s) so the safety tests stay quick; it yields the server's root URL, e.g.
``"http://127.0.0.1:41234/"``. ``start_server(*args, env=…)`` starts another one with its own
options (a context manager yielding its root URL), for tests that need other settings.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # deploy.procs, also under a bare `pytest` (which does not add the cwd)
from deploy.procs import answers, stop, wait_until  # noqa: E402

if TYPE_CHECKING:
    from engines import Engine


def _shared_dir() -> Path:
    """The project's shared data (ESCO downloads, the source page): $CKG_TEST_SHARED, else ``../shared`` beside
    the repository, else two levels up (a git worktree in ``../wt/NAME`` shares its main clone's data)."""
    if os.environ.get("CKG_TEST_SHARED"):
        return Path(os.environ["CKG_TEST_SHARED"])
    beside, worktree = ROOT.parent / "shared", ROOT.parent.parent / "shared"
    return beside if beside.is_dir() or not worktree.is_dir() else worktree


SHARED = _shared_dir()
CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
CI_PROVIDES = "(CI provides it)"
"""End a skip reason with this when CI must run the test: under CI=true such a skip fails the run instead
(see ``pytest_runtest_makereport``), so a missing download or browser in CI is never a silent green."""


def skip_reason(what_is_missing: str) -> str:
    """A skip reason for something CI provides (data, Chromium, a test extra): skipped locally, a failure in CI."""
    return f"{what_is_missing} {CI_PROVIDES}"


def _ci_failure(report, reason: str) -> None:
    report.outcome = "failed"
    report.longrepr = (f"skipped under CI=true, but CI provides what this needs (.ci/run installs it): {reason}")


def _skip_reason_of(report) -> str:
    return report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and CI_PROVIDES in _skip_reason_of(report):
        _ci_failure(report, _skip_reason_of(report))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A whole module skipped at import (``importorskip``) is held to the same rule."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and CI_PROVIDES in _skip_reason_of(report):
        _ci_failure(report, _skip_reason_of(report))
LIVE_QUERY_TIMEOUT = 2.0
"""The SPARQL time limit of ``live_server``, in seconds (tests of the limit wait about this long)."""
LIVE_WORKERS = 2
LIVE_THREADS = 4
LIVE_SLOTS = 2
"""SPARQL execution slots (query processes) per worker of ``live_server`` (the documented default, stated explicitly)."""
LIVE_MAX_RESULTS = 10_000
"""The result-size limit of ``live_server`` (the documented default, stated explicitly)."""
STARTUP_LIMIT = 90.0


class ServerURL(str):
    """A running server's root URL (use it as a string); ``.pid`` is the gunicorn master's process id."""

    pid: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env(extra: dict[str, str] | None) -> dict[str, str]:
    """The test process's environment without CKG_* settings (so a developer's shell cannot change tests)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def _wait_until_up(process: subprocess.Popen, url: str, log: Path) -> None:
    """Return once ``ckg serve`` at ``url`` answers SPARQL; its log is shown if it exits or takes too long."""
    wait_until(process, lambda: answers(url + "sparql"), "ckg serve", STARTUP_LIMIT, log)


@contextmanager
def start_server(*args: str, env: dict[str, str] | None = None, runner: list[str] | None = None,
                 port: int | None = None) -> Iterator[ServerURL]:
    """Run ``ckg serve --port <free> *args`` until the block ends; yields ``http://127.0.0.1:<port>/``.

    ``runner`` replaces ``python -m ckg.cli`` (e.g. a wrapper script that instruments the command).
    ``port`` is for callers whose ``args`` must name the URL already (``--base`` equal to it).

    The server's output goes to a temporary log file, shown if it fails to start.
    """
    port = port or free_port()
    url = ServerURL(f"http://127.0.0.1:{port}/")
    with tempfile.NamedTemporaryFile("w+", prefix="ckg-serve-", suffix=".log", delete=False) as log_file:
        log = Path(log_file.name)
        process = subprocess.Popen([*(runner or [sys.executable, "-m", "ckg.cli"]), "serve", "--host", "127.0.0.1",
                                    "--port", str(port), *args],
                                   cwd=ROOT, env=_server_env(env), stdout=log_file, stderr=subprocess.STDOUT)
    url.pid = process.pid
    try:
        _wait_until_up(process, url, log)
        yield url
    finally:
        stop(process)
        log.unlink(missing_ok=True)


@pytest.fixture(scope="session", autouse=True)
def _temporary_files_in_the_session_folder(tmp_path_factory) -> Iterator[None]:
    """Apps made in this process (test clients) write their downloads and CASE packages into temporary
    folders that only ``ckg serve`` removes; keep them below pytest's own folders, which pytest prunes."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = previous


@pytest.fixture(scope="session")
def live_server() -> Iterator[ServerURL]:
    """The real server with the bundled catalogue (2 workers x 4 threads, 2 s query limit); its root URL."""
    with start_server("--workers", str(LIVE_WORKERS), "--threads", str(LIVE_THREADS),
                      "--sparql-slots", str(LIVE_SLOTS), "--query-timeout", str(LIVE_QUERY_TIMEOUT), "--max-results", str(LIVE_MAX_RESULTS)) as url:
        yield url


@pytest.fixture(scope="session")
def sparql_endpoint(live_server: str) -> str:
    """``live_server``'s SPARQL endpoint URL."""
    return live_server + "sparql"


@pytest.fixture(scope="session")
def oxigraph() -> Iterator["Engine"]:
    """Oxigraph server (from the ``oxigraph`` PyPI package) on a free port with an empty database."""
    from engines import oxigraph_binary, oxigraph_server
    if not oxigraph_binary():
        pytest.skip(skip_reason("the oxigraph server (pip install oxigraph, in the test extra)"))
    with oxigraph_server(free_port()) as engine:
        yield engine


@pytest.fixture(scope="session")
def virtuoso() -> Iterator["Engine"]:
    """Virtuoso open source (Debian's virtuoso-opensource) on free ports with an empty database."""
    from engines import virtuoso_binary, virtuoso_server
    if not virtuoso_binary():
        pytest.skip(skip_reason("virtuoso-t (apt-get install virtuoso-opensource)"))
    with virtuoso_server(free_port(), free_port()) as engine:
        yield engine
