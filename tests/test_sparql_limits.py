"""Safety of the public endpoint, on the real server: time limit, no outgoing connections, result size."""
from __future__ import annotations

import csv
import io
import socket
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import LIVE_MAX_RESULTS, LIVE_QUERY_TIMEOUT, LIVE_SLOTS, LIVE_WORKERS
from tests.hostile_support import descendants

RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o . ?p ?q ?r }")
"""552^6 ≈ 3·10^16 combinations: this would run for years."""
SLACK = 6.0
"""Allowance over the time limit for a loaded 2-core machine (killing and answering takes well under a second
there). It is chosen so that the bound still means something: a server that ignored ``--query-timeout 2`` and
kept the default 10 s limit answers after LIVE_QUERY_TIMEOUT + SLACK and fails the test."""
DEFAULT_QUERY_TIMEOUT = 10.0
assert LIVE_QUERY_TIMEOUT + SLACK < DEFAULT_QUERY_TIMEOUT


def stopped_in_time(endpoint: str) -> requests.Response:
    """Send the runaway query; its answer must come no sooner than the limit (nothing is stopped early) and
    within the limit plus SLACK (``requests`` raises ReadTimeout otherwise)."""
    started = time.monotonic()
    answer = requests.get(endpoint, params={"query": RUNAWAY}, timeout=LIVE_QUERY_TIMEOUT + SLACK)
    assert time.monotonic() - started >= LIVE_QUERY_TIMEOUT, "the query was stopped before its time limit"
    return answer


# ---- time limit ----

def settled_descendants(pid: int, expected: int) -> set[int]:
    """The processes below ``pid`` once all ``expected`` are up (workers start one after the other)."""
    deadline = time.monotonic() + 60
    found = descendants(pid)
    while len(found) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        found = descendants(pid)
    return found


def test_runaway_query_gets_503_and_other_queries_are_served_meanwhile(sparql_endpoint):
    runaway: dict[str, requests.Response] = {}

    def send_runaway() -> None:
        runaway["answer"] = stopped_in_time(sparql_endpoint)

    thread = threading.Thread(target=send_runaway)
    thread.start()
    try:
        served_meanwhile = []
        for _ in range(5):
            answer = requests.get(sparql_endpoint, params={"query": "ASK { ?s a ?type }"}, timeout=SLACK)
            served_meanwhile.append((answer.status_code, answer.json()["boolean"], thread.is_alive()))
    finally:
        thread.join(LIVE_QUERY_TIMEOUT + SLACK)
    assert all(status == 200 and value is True for status, value, _ in served_meanwhile)
    assert served_meanwhile[-1][2], "the simple queries should have been answered while the runaway one still ran"
    assert "answer" in runaway, "the runaway query was not stopped within the limit plus SLACK"
    answer = runaway["answer"]
    assert answer.status_code == 503
    assert f"{LIVE_QUERY_TIMEOUT:g} s" in answer.text and "stopped" in answer.text


def test_the_runaway_query_process_is_killed_and_replaced(live_server, sparql_endpoint):
    before = settled_descendants(live_server.pid, LIVE_WORKERS * (1 + LIVE_SLOTS))
    assert len(before) == LIVE_WORKERS * (1 + LIVE_SLOTS)  # each worker and its query processes
    answer = stopped_in_time(sparql_endpoint)
    assert answer.status_code == 503
    after = descendants(live_server.pid)
    gone, new = before - after, after - before
    assert len(gone) == 1 and len(new) == 1, (before, after)
    assert not Path(f"/proc/{gone.pop()}").exists()  # killed and reaped: no CPU used, not even a zombie
    assert requests.get(sparql_endpoint, params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


# ---- no outgoing connections ----

class Listener:
    """A local TCP port that records whether anything connected to it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.setblocking(False)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/sparql"

    def connections(self) -> int:
        """Connections waiting to be accepted; a client that connected is in the queue once connect() returned."""
        count = 0
        while True:
            try:
                connection, _ = self.socket.accept()
            except BlockingIOError:
                return count
            connection.close()
            count += 1


@pytest.fixture
def listener():
    port = Listener()
    yield port
    port.socket.close()


@pytest.mark.parametrize("template", [
    "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?x ?y ?z . service silent <{url}> {{ ?s ?p ?o }} }} LIMIT 1",
    "PREFIX ep: <{url}#> SELECT * WHERE {{ SERVICE ep:x {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE ?e {{ ?s ?p ?o }} }}",
    "ASK {{ SERVICE <{url}> {{ }} }}",
    "CONSTRUCT WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
])
@pytest.mark.parametrize("method", ["get", "post"])
def test_service_is_refused_and_makes_no_connection(sparql_endpoint, listener, template, method):
    query = template.format(url=listener.url)
    send = requests.get if method == "get" else requests.post
    answer = send(sparql_endpoint, **({"params": {"query": query}} if method == "get" else {"data": {"query": query}}))
    assert answer.status_code == 400 and "SERVICE" in answer.text
    assert listener.connections() == 0


@pytest.mark.parametrize("query, params", [
    ("SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}", {}),
    ("SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
    ("SELECT * WHERE {{ ?s ?p ?o }}", {"default-graph-uri": "{url}"}),
    ("SELECT * WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {"named-graph-uri": "{url}"}),
    ("DESCRIBE <{url}>", {}),
])
def test_remote_graphs_are_never_fetched(sparql_endpoint, listener, query, params):
    answer = requests.get(sparql_endpoint, params={"query": query.format(url=listener.url),
                                                   **{k: v.format(url=listener.url) for k, v in params.items()}})
    assert answer.status_code == 200
    assert listener.connections() == 0


def test_load_is_refused_and_makes_no_connection(sparql_endpoint, listener):
    answer = requests.post(sparql_endpoint, data={"update": f"LOAD <{listener.url}>"})
    assert answer.status_code == 400
    answer = requests.post(sparql_endpoint, data={"query": f"LOAD <{listener.url}>"})
    assert answer.status_code == 400
    assert listener.connections() == 0


# ---- result size ----

PAIRS = "SELECT * WHERE {{ ?a ?b ?c . ?d ?e ?f }} LIMIT {n}"
"""Pairs of triples: far more than the limit without LIMIT, exactly ``n`` with it."""


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml",
                                    "text/csv", "text/tab-separated-values"])
def test_answer_of_exactly_the_limit_is_sent_whole(sparql_endpoint, accept):
    answer = requests.get(sparql_endpoint, params={"query": PAIRS.format(n=LIVE_MAX_RESULTS)}, headers={"Accept": accept})
    assert answer.status_code == 200
    if accept.endswith("json"):
        assert len(answer.json()["results"]["bindings"]) == LIVE_MAX_RESULTS
    elif accept.endswith("xml"):
        assert answer.content.count(b"<result>") == LIVE_MAX_RESULTS
    elif accept == "text/csv":  # literals may hold line breaks: read it as CSV
        assert len(list(csv.reader(io.StringIO(answer.text)))) == LIVE_MAX_RESULTS + 1
    else:  # TSV escapes line breaks in literals
        assert len(answer.text.splitlines()) == LIVE_MAX_RESULTS + 1


@pytest.mark.parametrize("query", [PAIRS.format(n=LIVE_MAX_RESULTS + 1), "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"])
@pytest.mark.parametrize("accept", ["application/sparql-results+json", "text/csv"])
def test_answer_over_the_limit_is_refused_with_paging_advice(sparql_endpoint, query, accept):
    answer = requests.get(sparql_endpoint, params={"query": query}, headers={"Accept": accept})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert f"more than {LIVE_MAX_RESULTS:,} rows" in answer.text
    assert "LIMIT" in answer.text and "OFFSET" in answer.text


@pytest.mark.parametrize("accept", ["text/turtle", "application/ld+json", "application/n-triples"])
def test_graph_over_the_limit_is_refused(sparql_endpoint, accept):
    query = "CONSTRUCT { ?a ?b ?d } WHERE { ?a ?b ?c . ?d ?e ?f }"
    answer = requests.get(sparql_endpoint, params={"query": query}, headers={"Accept": accept})
    assert answer.status_code == 400 and f"more than {LIVE_MAX_RESULTS:,} triples" in answer.text


def test_aggregates_over_large_intermediate_results_are_fine(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"})
    assert answer.status_code == 200
    assert int(answer.json()["results"]["bindings"][0]["n"]["value"]) > LIVE_MAX_RESULTS

