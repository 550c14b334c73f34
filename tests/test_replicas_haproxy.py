"""The HAProxy example (deploy/) under load: a replica dies, no client sees a failure, the replica rejoins.

64 client connections send resource GETs (several formats) and SPARQL queries (GET and POST, each
request a different query, so answers are computed, not only taken from a cache) through HAProxy to
two replicas. In the middle one replica is killed — SIGKILL to its whole process group (a crash), or
SIGTERM to its master (a process manager stopping it) — and every request must still get its full,
correct answer. The replica is then restarted on its port and HAProxy must send it requests again.

The same holds for replicas that read an engine (``ckg serve --store``): ``deploy.example``'s
``oxigraph`` variant publishes the bundled catalogue into an Oxigraph server and starts both replicas
in front of it; after the crash and the restart, the two replicas give the same bytes and ETags.
"""
from __future__ import annotations

import http.client
import json
import signal
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

import pytest

from deploy.example import Example, example, haproxy_binary, oxigraph_binary
from tests.conftest import skip_reason
from tests.test_replicas import TWINS, ask, local_paths

pytestmark = [
    pytest.mark.hostile,
    pytest.mark.skipif(haproxy_binary() is None, reason=skip_reason("haproxy (apt-get install haproxy)")),
]

CONNECTIONS = 64
WARM_UP = 3.0
DOWN_TIME = 4.0
AFTER_REJOIN = 2.0
REPLICA_ARGS = ("--workers", "2", "--threads", "4", "--sparql-slots", "4", "--sparql-queue-wait", "10")
"""HAProxy lets 16 requests at a time into a replica (maxconn), and gunicorn does not spread them evenly over the
replica's two workers: one may get all 16. Four slots give each worker 20 SPARQL places (4 running, 16 waiting;
with the default 2 slots, 10 places, cold --store replicas answered 8-16 admission 503s in the first second), and
the longest queue wait lets them wait their turn on a slow, shared CI machine instead of getting admission
control's 503 (which is the right answer to overload, not a failover fault)."""
RESOURCES = (("competency/klantgerichtheid", "application/ld+json", b"klantgerichtheid"),
             ("competency/klantgerichtheid.ttl", None, b"klantgerichtheid"),
             ("competency/?format=html", None, b"<html"),
             ("level/3.nt", None, b"/level/3>"),
             ("mappings.sssom.tsv", None, b"subject_id"))
SKOS = "http://www.w3.org/2004/02/skos/core#"
TOTAL_ROWS = [0]
"""Rows of the query without LIMIT (set once the example runs): a LIMIT beyond it gives exactly that many."""


def sparql_query(n: int) -> str:
    """A different query for every request (the LIMIT varies), so the answer cache cannot serve them all."""
    return (f"SELECT ?c ?label WHERE {{ ?c a <{SKOS}Concept> ; <{SKOS}prefLabel> ?label }} "
            f"ORDER BY ?c ?label LIMIT {1 + n % 200}")


@dataclass
class Load:
    """What the clients saw: answers per replica (after a moment, if set), and every failure."""

    answered: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    mark: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, replica: str) -> None:
        with self.lock:
            self.answered[replica] += 1
            if self.mark is not None and time.monotonic() > self.mark:
                self.after[replica] += 1

    def failed(self, what: str) -> None:
        with self.lock:
            self.failures.append(f"{time.monotonic():.2f} {what}")


def one_request(connection: http.client.HTTPConnection, n: int) -> tuple[str, str]:
    """Send request number ``n`` (a resource or a SPARQL query) and check its answer.

    Returns what was wrong with the answer ('' if nothing) and the replica that gave it."""
    kind = n % 4
    if kind < 2:
        path, accept, expected = RESOURCES[(n // 4) % len(RESOURCES)]
        connection.request("GET", "/" + path, headers={"Accept": accept} if accept else {})
        rows = None
    else:
        query = sparql_query(n)
        headers = {"Accept": "application/sparql-results+json"}
        if kind == 2:
            connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers=headers)
        else:
            connection.request("POST", "/sparql", body=urllib.parse.urlencode({"query": query}),
                               headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
        path, expected, rows = "sparql", b'"bindings"', 1 + n % 200
    response = connection.getresponse()
    body = response.read()
    replica = response.getheader("X-Served-By", "")
    if response.status != 200 or expected not in body:
        return f"{path}: {response.status} {body[:200]!r}", replica
    if rows is not None and len(json.loads(body)["results"]["bindings"]) != min(rows, TOTAL_ROWS[0]):
        return f"sparql: {len(json.loads(body)['results']['bindings'])} rows for LIMIT {rows}", replica
    return "", replica


def client(url: str, start: int, stop: threading.Event, load: Load) -> None:
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    connection = http.client.HTTPConnection(host, port, timeout=60)
    n = start
    while not stop.is_set():
        n += CONNECTIONS
        try:
            problem, replica = one_request(connection, n)
        except (OSError, http.client.HTTPException) as error:
            load.failed(f"request {n}: {error!r}")
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=60)
            continue
        if problem:
            load.failed(f"{replica or 'no replica named'}: {problem}")
        else:
            load.note(replica)
    connection.close()


def run_with_a_failure(running: Example, sig: signal.Signals) -> Load:
    """Load through HAProxy; kill replica 1 with ``sig`` in the middle, restart it, keep the load on until it serves again."""
    load, stop = Load(), threading.Event()
    clients = [threading.Thread(target=client, args=(running.url, n, stop, load)) for n in range(CONNECTIONS)]
    for thread in clients:
        thread.start()
    victim = running.replicas[0]
    try:
        time.sleep(WARM_UP)
        before = dict(load.answered)
        victim.kill(sig)
        victim.wait_stopped()
        time.sleep(DOWN_TIME)
        victim.start()
        load.mark = time.monotonic()
        deadline = load.mark + 30
        while load.after[victim.name] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(AFTER_REJOIN)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
    assert before.get("replica1", 0) > 0 and before.get("replica2", 0) > 0, f"both replicas served before the kill: {before}"
    return load


def _counted(started: Example) -> Example:
    """Note how many rows the load's query has without LIMIT, on this example's data."""
    query = sparql_query(0).rsplit(" LIMIT ", 1)[0]
    with urllib.request.urlopen(urllib.request.Request(
            started.url + "sparql?" + urllib.parse.urlencode({"query": query}),
            headers={"Accept": "application/sparql-results+json"}), timeout=30) as response:
        TOTAL_ROWS[0] = len(json.loads(response.read())["results"]["bindings"])
    assert TOTAL_ROWS[0] > 0
    return started


@pytest.fixture
def running():
    with example(2, REPLICA_ARGS) as started:
        yield _counted(started)


@pytest.fixture
def running_from_oxigraph():
    """Two ``ckg serve --store`` replicas behind HAProxy, reading one Oxigraph server that ``ckg publish`` loaded."""
    if oxigraph_binary() is None:
        pytest.skip(skip_reason("the oxigraph server (pip install oxigraph, in the test extra)"))
    with example(2, REPLICA_ARGS, oxigraph=True) as started:
        yield _counted(started)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["crash-sigkill", "stop-sigterm"])
def test_a_replica_dies_under_load_and_no_request_fails(running, sig):
    load = run_with_a_failure(running, sig)
    assert load.failures == [], (f"{len(load.failures)} failed requests, e.g. {load.failures[:5]}\n"
                                 + running.log.read_text())
    assert sum(load.answered.values()) > 500, load.answered
    # The restarted replica is back in rotation: HAProxy sends it requests again.
    assert load.after["replica1"] > 0, f"the restarted replica got no requests: {load.after}"


def sample_of_answers(server: str) -> list[tuple[str, str | None, str | None]]:
    """(path, Accept, Accept-Language): every IRI of the catalogue in one of its formats (in turn), the
    listings, the dataset, the release pages, the downloads, the mapping tables and SPARQL answers."""
    wanted: list[tuple[str, str | None, str | None]] = []
    for n, path in enumerate(local_paths(server)):
        twin = TWINS[n % len(TWINS)]
        wanted.append((f"{path}?format={twin}" if path.endswith("/") or path == "" else f"{path}.{twin}", None, None))
        wanted.append((path, "text/html" if n % 2 else None, "en" if n % 2 else None))
    wanted += [(f"{listing}?format={twin}", None, None) for listing in ("competency/", "level/") for twin in TWINS]
    wanted += [(f"mappings{suffix}", None, None) for suffix in (".html", ".sssom.tsv", ".jsonld")]
    wanted += [("downloads/catalogue.nt", None, None), ("downloads/catalogue.ttl", None, None)]
    wanted += [("release/", None, None), ("release/?format=ttl", None, None), ("feed", "text/turtle", None),
               ("ims/case/v1p1/CFDocuments", None, None)]
    for n in (0, 7, 1000):
        wanted.append(("sparql?" + urllib.parse.urlencode({"query": sparql_query(n)}), "application/sparql-results+json", None))
    return wanted


def test_replicas_reading_an_engine_survive_a_crash_and_agree_after_it(running_from_oxigraph):
    running = running_from_oxigraph
    assert all("--store" in replica.args for replica in running.replicas)  # no catalogue folder on either
    load = run_with_a_failure(running, signal.SIGKILL)
    assert load.failures == [], (f"{len(load.failures)} failed requests, e.g. {load.failures[:5]}\n"
                                 + running.log.read_text())
    assert sum(load.answered.values()) > 500, load.answered
    assert load.after["replica1"] > 0, f"the restarted replica got no requests: {load.after}"
    # The restarted replica and the one that survived answer alike: same status, headers a cache acts
    # on (ETag included) and bytes, asked directly (not through HAProxy).
    restarted, survivor = (replica.url for replica in running.replicas)
    wanted = sample_of_answers(survivor)
    assert len(wanted) > 100, "the engine's catalogue should name many resources: the sample found too few"
    differences, ok, untagged = [], 0, []
    for path, accept, language in wanted:
        one, other = ask(restarted + path, accept, language), ask(survivor + path, accept, language)
        if one != other:
            differences.append(f"{path} (Accept {accept}): {one[:2]} vs {other[:2]}")
        ok += one[0] == 200
        if one[0] == 200 and one[1]["ETag"] is None and not path.startswith("sparql"):  # SPARQL answers carry none
            untagged.append(path)
    assert differences == []
    # The comparison is worth something only if nearly all are real answers, each with its validator
    # (the few others: IRIs of the catalogue that name no page, such as agent/editors: 404 on both).
    assert ok > 0.95 * len(wanted) and untagged == [], (ok, len(wanted), untagged)
