"""Reload without downtime, {base}status and graceful shutdown, against a real ``ckg serve`` under gunicorn.

Every server here serves its own temporary copy of the bundled catalogue, which the tests edit.
Waits are bounded polls for a state (a new load time, a failed reload), never timed assertions.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bench.synthetic import generate
from tests.conftest import ROOT, start_server

CRITERION = "competency/klantgerichtheid/level/2/criterion/3"
OLD_TEXT = "Asks about the customer's wishes."
NEW_TEXT = "Asks what the customer wants."
SPARQL_TEXT = ("SELECT ?t WHERE { <https://w3id.org/competency-kg/" + CRITERION + "> "
               "<https://w3id.org/competency-kg/def#statement> ?t FILTER(lang(?t) = 'en') }")
WAIT = 120  # seconds a reload may take on a loaded machine before the test gives up


def _catalogue(tmp_path: Path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", copy)
    return copy


def _competency(catalog: Path) -> Path:
    return catalog / "competencies" / "klantgerichtheid.yaml"


def _edit(catalog: Path, old: str, new: str) -> None:
    path = _competency(catalog)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _get(url: str, accept: str = "*/*") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, dict(response.headers), response.read()


def _status(server: str) -> dict:
    return json.loads(_get(server + "status")[2])


def _sparql(server: str, query: str = SPARQL_TEXT) -> list[str]:
    data = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(server + "sparql", data=data,
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        return [row["t"]["value"] for row in json.loads(response.read())["results"]["bindings"]]


def _wait_for(server: str, condition) -> dict:
    """Poll /status until ``condition(status)`` holds; fails with the last status after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    status = _status(server)
    while not condition(status):
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not reach the expected state; last /status: {status}")
        time.sleep(0.2)
        status = _status(server)
    return status


def _reloaded_after(before: dict):
    return lambda status: status["last_reload"]["at"] is not None and status["last_reload"] != before["last_reload"]


def test_status_says_what_is_served_and_is_never_cached(tmp_path):
    catalog = _catalogue(tmp_path)
    with start_server(str(catalog)) as server:
        status_code, headers, body = _get(server + "status")
        assert status_code == 200
        assert headers["Content-Type"].startswith("application/json")
        assert headers["Cache-Control"] == "no-store"
        status = json.loads(body)
        assert status["status"] == "ok"
        assert status["version"] == "1.0.0" and status["release"] == "1.0.0"
        count = _sparql(server, "SELECT (COUNT(*) AS ?t) WHERE { ?s ?p ?o }")
        assert status["triples"] == int(count[0])
        assert status["loaded"].endswith("+00:00")  # ISO 8601 in UTC
        assert status["last_reload"] == {"result": "none", "at": None, "problems": []}
        # A second replica of the same content gives the same fingerprint, though loaded at another time.
        with start_server(str(catalog)) as replica:
            assert _status(replica)["fingerprint"] == status["fingerprint"]


def test_sighup_swaps_in_an_edited_catalogue(tmp_path):
    catalog = _catalogue(tmp_path)
    with start_server(str(catalog)) as server:
        before = _status(server)
        assert OLD_TEXT in _get(server + CRITERION + ".ttl")[2].decode()
        assert _sparql(server) == [OLD_TEXT]
        _edit(catalog, OLD_TEXT, NEW_TEXT)
        os.kill(server.pid, signal.SIGHUP)
        after = _wait_for(server, _reloaded_after(before))
        assert after["last_reload"]["result"] == "ok"
        assert after["loaded"] > before["loaded"]
        assert after["fingerprint"] != before["fingerprint"]
        page = _get(server + CRITERION + ".ttl")[2].decode()
        assert NEW_TEXT in page and OLD_TEXT not in page
        assert _sparql(server) == [NEW_TEXT]


def test_a_broken_catalogue_is_not_swapped_in(tmp_path):
    catalog = _catalogue(tmp_path)
    with start_server(str(catalog)) as server:
        before = _status(server)
        _edit(catalog, OLD_TEXT, NEW_TEXT)
        with _competency(catalog).open("a", encoding="utf-8") as file:
            file.write("levels: [\n")
        lines = len(_competency(catalog).read_text(encoding="utf-8").splitlines())
        os.kill(server.pid, signal.SIGHUP)
        after = _wait_for(server, _reloaded_after(before))
        assert after["last_reload"]["result"] == "failed"
        assert any(problem.startswith(f"{_competency(catalog)}:{lines}:") or
                   problem.startswith(f"{_competency(catalog)}:{lines + 1}:")
                   for problem in after["last_reload"]["problems"]), after["last_reload"]["problems"]
        assert after["loaded"] == before["loaded"] and after["fingerprint"] == before["fingerprint"]
        assert OLD_TEXT in _get(server + CRITERION + ".ttl")[2].decode()
        assert _sparql(server) == [OLD_TEXT]


def _children(pid: int) -> set[int]:
    """The processes gunicorn's master forked (its workers), from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def test_a_broken_catalogue_leaves_the_workers_in_place_and_every_worker_reports_it(tmp_path):
    catalog = _catalogue(tmp_path)
    with start_server("--workers", "2", str(catalog)) as server:
        before = _status(server)
        deadline = time.monotonic() + WAIT
        while len(workers := _children(server.pid)) != 2:  # the second worker may still be starting
            assert time.monotonic() < deadline, f"gunicorn's master has workers {workers}, not 2"
            time.sleep(0.1)
        with _competency(catalog).open("a", encoding="utf-8") as file:
            file.write("levels: [\n")
        os.kill(server.pid, signal.SIGHUP)
        after = _wait_for(server, _reloaded_after(before))
        assert after["last_reload"]["result"] == "failed" and after["reloads"] == 1
        assert _children(server.pid) == workers  # nothing forked, nothing stopped
        # Requests go to either worker: every answer, whoever gives it, reports the failed reload.
        for _ in range(20):
            assert _status(server)["last_reload"]["result"] == "failed"


def test_sighups_during_a_rebuild_make_exactly_one_more_rebuild(tmp_path):
    """Ten SIGHUPs sent while a rebuild runs are served by one more rebuild, not ten.

    The catalogue (600 synthetic competencies) takes seconds to compile, long enough to send the
    signals while it does (checked). SIGTTOU (one worker fewer), sent after them, is a marker gunicorn
    handles in order after the rebuilds owed: once only one worker is left, no rebuild is pending,
    and the count of rebuilds is final.
    """
    catalog = generate(tmp_path / "catalog", 600)
    with start_server("--workers", "2", str(catalog)) as server:
        os.kill(server.pid, signal.SIGHUP)
        held = _wait_for(server, lambda status: status["reloading_since"] is not None)
        for _ in range(10):
            os.kill(server.pid, signal.SIGHUP)
            time.sleep(0.05)  # ten separate deliveries, not one merged pending signal
        os.kill(server.pid, signal.SIGTTOU)
        still = _status(server)
        assert still["reloading_since"] == held["reloading_since"] and still["reloads"] == 0, \
            "the first rebuild ended before the signals were sent: too fast a catalogue to test coalescing with"
        deadline = time.monotonic() + 4 * WAIT
        while len(_children(server.pid)) != 1:
            assert time.monotonic() < deadline, f"SIGTTOU never handled; last /status: {_status(server)}"
            time.sleep(0.2)
        done = _wait_for(server, lambda status: status["reloading_since"] is None)
        assert done["reloads"] == 2 and done["last_reload"]["result"] == "ok"


def test_watch_reloads_on_an_edit_without_a_signal(tmp_path):
    catalog = _catalogue(tmp_path)
    with start_server("--watch", str(catalog)) as server:
        before = _status(server)
        _edit(catalog, OLD_TEXT, NEW_TEXT)
        after = _wait_for(server, _reloaded_after(before))
        assert after["last_reload"]["result"] == "ok"
        assert _sparql(server) == [NEW_TEXT]


def test_sighup_without_watch_is_the_only_trigger(tmp_path):
    """Without --watch an edit alone changes nothing (the watch test above is then the watcher's doing)."""
    catalog = _catalogue(tmp_path)
    with start_server(str(catalog)) as server:
        _edit(catalog, OLD_TEXT, NEW_TEXT)
        time.sleep(3)  # three polls of a watcher, were there one
        assert _status(server)["last_reload"]["result"] == "none"
        assert _sparql(server) == [OLD_TEXT]


def test_no_request_fails_during_three_reloads_under_load(tmp_path):
    catalog = _catalogue(tmp_path)
    with start_server(str(catalog)) as server:
        failures: list[str] = []
        answered = [0]
        stop = threading.Event()

        def hammer(kind: str) -> None:
            while not stop.is_set():
                try:
                    if kind == "sparql":
                        assert _sparql(server)[0] in (OLD_TEXT, NEW_TEXT)
                    else:
                        status_code, _, body = _get(server + CRITERION, "application/ld+json")
                        assert status_code == 200 and b"klantgerichtheid" in body
                    answered[0] += 1
                except Exception as error:  # noqa: BLE001 - every kind of failure counts
                    failures.append(f"{kind}: {error!r}")

        threads = [threading.Thread(target=hammer, args=(kind,)) for kind in ("resource", "resource", "sparql", "sparql")]
        for thread in threads:
            thread.start()
        try:
            texts = [NEW_TEXT, OLD_TEXT, NEW_TEXT]
            for previous, text in zip([OLD_TEXT, *texts], texts):
                before = _status(server)
                _edit(catalog, previous, text)
                os.kill(server.pid, signal.SIGHUP)
                assert _wait_for(server, _reloaded_after(before))["last_reload"]["result"] == "ok"
                # the new workers serve: the new text is answered (by whichever worker takes the request)
                deadline = time.monotonic() + WAIT
                while _sparql(server) != [text] and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert _sparql(server) == [text]
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert failures == []
        assert answered[0] > 0


def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    slow = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g "
            "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> ?h }")
    catalog = _catalogue(tmp_path)
    with start_server(str(catalog), env={"CKG_QUERY_TIMEOUT": "120"}) as server:
        outcome: dict = {}

        def ask() -> None:
            data = urllib.parse.urlencode({"query": slow}).encode()
            request = urllib.request.Request(server + "sparql", data=data, headers={"Accept": "text/csv"})
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    outcome["status"] = response.status
                    outcome["body"] = response.read()
            except Exception as error:  # noqa: BLE001
                outcome["error"] = repr(error)
            outcome["done"] = time.monotonic()

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(0.5)  # the query is sent and running
        assert "done" not in outcome, "the query answered before SIGTERM: it is too fast to test a shutdown with"
        os.kill(server.pid, signal.SIGTERM)
        sent = time.monotonic()
        # New requests are no longer served: within the grace period, while the query is still running,
        # a request starts that gets no answer (a worker may take one more in the instant before the signal
        # reaches it; nothing takes them after).
        unanswered_from = None
        while unanswered_from is None and "done" not in outcome:
            started = time.monotonic()
            try:
                urllib.request.urlopen(server + "status", timeout=2).read()
                time.sleep(0.05)
            except (urllib.error.URLError, ConnectionError, OSError):
                unanswered_from = started
        asking.join()
        assert unanswered_from is not None and unanswered_from < outcome["done"], outcome
        assert outcome.get("status") == 200, outcome
        assert outcome["body"].splitlines()[0] == b"n" and int(outcome["body"].splitlines()[1]) > 0
        assert outcome["done"] > sent
