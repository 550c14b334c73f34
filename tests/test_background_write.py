"""The child that writes a site's files once for every worker (service.background_write), tried as a hostile
client and a crowd of workers would: one child however many ask, bounded waits, one waiter per worker, a
failure said plainly without a new process per request, no credentials in a process's arguments, and over
HTTP a 503 with Retry-After while it writes."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from catalog import CATALOG_DIR
from service import background_write
from service.app import create_app
from service.background_write import BackgroundWrite, StillWriting
from service.config import ServiceConfig
from service.engine import EngineError
from store_support import publish_folder, until_written

CHILD = r"""
import json, os, sys, time
job = json.loads(os.environ["CKG_STORE_WRITE_JOB"])
folder = job["folder"]
with open(folder + ".children", "a") as seen:
    seen.write(json.dumps({"argv": sys.argv, "pid": os.getpid()}) + "\n")
time.sleep(job["sleep"])
if job.get("fail"):
    print("the SPARQL engine at http://127.0.0.1:1/ refused the connection", flush=True)
    sys.exit(1)
os.makedirs(folder, exist_ok=True)
open(job["marker"], "w").write(job["token"])
"""


def writer(tmp_path: Path, *, sleep: float = 0.0, fail: bool = False, wait: float = 10.0, token: str = "site-1",
           name: str = "release") -> BackgroundWrite:
    job = {"sleep": sleep, "fail": fail, "store": "http://user:s3cret@127.0.0.1:1/sparql"}
    write = BackgroundWrite(tmp_path / name, job, token, "the test files", wait=wait, gate=tmp_path / ".gate")
    write.command = [sys.executable, "-c", CHILD]
    return write


def children(tmp_path: Path, name: str = "release") -> list[dict]:
    path = tmp_path / f"{name}.children"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_one_child_writes_for_every_worker_and_each_waits_a_bounded_time(tmp_path: Path) -> None:
    first, second = writer(tmp_path, sleep=1.5, wait=0.2), writer(tmp_path, sleep=1.5, wait=0.2)
    with pytest.raises(StillWriting) as still:
        first.result()
    assert still.value.status == 503 and still.value.retry_after > 0 and "being written" in still.value.message
    with pytest.raises(StillWriting):
        second.result()  # another worker: the child holds the lock, so no second child
    second.wait = 10.0
    assert second.result() == tmp_path / "release"
    assert first.result() == tmp_path / "release"
    assert len(children(tmp_path)) == 1


def test_while_one_thread_waits_the_others_are_answered_at_once(tmp_path: Path) -> None:
    write = writer(tmp_path, sleep=2.0, wait=10.0)
    waiter = threading.Thread(target=write.result)
    waiter.start()
    while not children(tmp_path):
        time.sleep(0.02)
    with pytest.raises(StillWriting):
        write.result()  # a second thread of the same worker: not held, or a crowd could take every thread
    assert waiter.is_alive()
    waiter.join()
    assert write.result() == tmp_path / "release"


def test_one_child_at_a_time_for_a_site_whatever_it_writes(tmp_path: Path) -> None:
    """A client asking for every release's files at once must not start a full read per release."""
    site, release = writer(tmp_path, sleep=1.5, wait=0.2), writer(tmp_path, name="release-1.0.0", wait=0.2)
    with pytest.raises(StillWriting):
        site.result()
    with pytest.raises(StillWriting):
        release.result()  # its own folder is free, but the site's one child is busy
    assert children(tmp_path, "release-1.0.0") == []
    site.wait = release.wait = 10.0
    assert site.result() == tmp_path / "release"
    assert release.result() == tmp_path / "release-1.0.0"  # started once the first child is done
    assert len(children(tmp_path, "release-1.0.0")) == 1


def test_a_failed_write_is_said_and_not_retried_by_every_request(tmp_path: Path, monkeypatch) -> None:
    write = writer(tmp_path, fail=True)
    with pytest.raises(EngineError) as failed:
        write.result()
    assert failed.value.status == 502 and "refused the connection" in failed.value.message
    other_worker = writer(tmp_path, fail=True)
    for attempt in (write, other_worker):
        with pytest.raises(EngineError, match="refused the connection"):
            attempt.result()
    assert len(children(tmp_path)) == 1  # within the pause, nobody starts another process
    monkeypatch.setattr(background_write, "FAILURE_PAUSE", 0.0)
    with pytest.raises(EngineError):
        other_worker.result()
    assert len(children(tmp_path)) == 2  # after it, a request may try again


def test_an_earlier_sites_files_are_not_taken_for_this_sites(tmp_path: Path) -> None:
    assert writer(tmp_path, token="site-1").result() == tmp_path / "release"
    assert writer(tmp_path, token="site-2").result() == tmp_path / "release"
    assert len(children(tmp_path)) == 2


def test_the_job_and_its_credentials_are_not_in_the_childs_arguments(tmp_path: Path) -> None:
    writer(tmp_path).result()
    (child,) = children(tmp_path)
    assert not any("s3cret" in argument or "127.0.0.1" in argument for argument in child["argv"])


def test_over_http_the_downloads_and_case_answer_503_with_retry_after_until_written(oxigraph, tmp_path: Path) -> None:
    graph = "https://example.org/ckg-background-write/current"
    publish_folder(oxigraph, Path(CATALOG_DIR), graph)
    app = create_app(ServiceConfig.from_env(store=oxigraph.query, store_graph=graph))
    site = app.extensions["ckg"]
    site.downloads.files.site().wait = 0.0
    client = app.test_client()
    waiting = client.get("/downloads/catalogue.ttl")
    assert waiting.status_code == 503 and int(waiting.headers["Retry-After"]) > 0
    assert "being written" in waiting.get_data(as_text=True)
    case = "/ims/case/v1p1/CFDocuments"
    answer = until_written(client, case)
    assert answer.status_code == 200 and answer.json["CFDocuments"]
    assert client.get("/downloads/catalogue.ttl").status_code == 200
    site.close()
    assert not site.files.site().folder.exists()
