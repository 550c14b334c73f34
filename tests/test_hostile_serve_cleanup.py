"""``ckg serve`` removes the downloads folder it made for itself when it stops (issue 8, class 12).

The server runs with TMPDIR pointing at a folder of the test, so everything it writes there can be
seen, and the folder must be empty again once the server has stopped.
"""
from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import start_server

pytestmark = pytest.mark.hostile


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return response.read()


def workers_of(master: int) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


def manifests(scratch: Path) -> list[Path]:
    return sorted(scratch.glob("ckg-serve-*/ckg-downloads-*/release/manifest.json"))


def wait_for(condition, what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit  # a bound on waiting, not a speed claim
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_services_own_downloads_folder_is_removed_when_it_stops(tmp_path, stop):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with start_server("--workers", "2", "--threads", "2", env={"TMPDIR": str(scratch)}) as url:
        for _ in range(6):  # both workers, most likely: each writes the release into its own folder
            fetch(url + "downloads/catalogue.ttl")
        assert manifests(scratch), sorted(p.relative_to(scratch) for p in scratch.rglob("*"))
        with urllib.request.urlopen(url + "downloads/manifest.json", timeout=60) as response:
            assert response.status == 200
        os.kill(url.pid, stop)
        wait_for(lambda: not Path(f"/proc/{url.pid}").exists() or Path(f"/proc/{url.pid}/stat").read_text().split()[2] == "Z",
                 "the server to stop")
    assert list(scratch.iterdir()) == []


def test_a_replaced_worker_does_not_take_the_folder_with_it(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with start_server("--workers", "1", "--threads", "2", env={"TMPDIR": str(scratch)}) as url:
        fetch(url + "downloads/catalogue.ttl")
        (first,) = workers_of(url.pid)
        os.kill(first, signal.SIGTERM)  # gunicorn starts a new worker; the old one unwinds through ckg serve
        wait_for(lambda: workers_of(url.pid) - {first}, "a new worker")
        wait_for(lambda: first not in workers_of(url.pid), "the old worker to go")
        assert len(list(scratch.glob("ckg-serve-*"))) == 1
        fetch(url + "downloads/catalogue.ttl")  # the new worker writes its release below the same folder
        assert manifests(scratch)
    assert list(scratch.iterdir()) == []


def test_the_folder_of_a_killed_master_is_removed_by_the_next_serve(tmp_path):
    """``kill -9`` leaves the folder behind (nothing can run then); the next ``ckg serve`` takes it away,
    and leaves alone the folder of a master that still runs."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with start_server("--workers", "1", "--threads", "2", env={"TMPDIR": str(scratch)}) as url:
        fetch(url + "downloads/catalogue.ttl")
        for pid in (url.pid, *workers_of(url.pid)):  # the whole tree at once, as the OOM killer or a power cut would
            os.kill(pid, signal.SIGKILL)
    (abandoned,) = scratch.glob("ckg-serve-*")
    assert manifests(scratch)
    alive = scratch / f"ckg-serve-{os.getpid()}-stillhere"  # this test's own process: a master that still runs
    alive.mkdir()
    with start_server("--workers", "1", "--threads", "2", env={"TMPDIR": str(scratch)}) as url:
        assert not abandoned.exists()
        assert alive.exists()
    assert sorted(p.name for p in scratch.iterdir()) == [alive.name]
