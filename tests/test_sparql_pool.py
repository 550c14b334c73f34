"""The killable query processes (service.sparql.pool), without a web server."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad, Store

from service.sparql.execute import Job
from service.sparql.pool import QueryPool, pool_for

SRJ = "application/sparql-results+json"
CROSS = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?a ?f ?i ?l"
"""300^4 = 8.1·10^9 rows to sort: needs far more memory and time than any limit here allows."""


@pytest.fixture(scope="module")
def store() -> Store:
    store = Store()
    store.extend(Quad(NamedNode(f"http://example.org/s{i}"), NamedNode("http://example.org/p"), Literal(f"v{i}"))
                 for i in range(300))
    return store


@pytest.fixture
def pool(store):
    pool = QueryPool(store, 2, memory_limit=64 * 2**20)
    yield pool
    pool.close()


def test_answers_come_back_whole(pool):
    answer = pool.run(Job("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", SRJ, None, None), timeout=30)
    assert answer.status == 200 and b'"300"' in answer.body


def test_timeout_kills_and_replaces_the_process(store):
    pool = QueryPool(store, 1, memory_limit=0)
    try:
        [before] = pool.pids()
        answer = pool.run(Job(CROSS.replace(" ORDER BY ?a ?f ?i ?l", ""), SRJ, None, None, max_results=10**12,
                              max_bytes=2**40),
                          timeout=0.5)
        assert answer.status == 503 and b"0.5 s" in answer.body
        [after] = pool.pids()
        assert after != before and not Path(f"/proc/{before}").exists()
        assert pool.run(Job("ASK { ?s ?p ?o }", SRJ, None, None), timeout=30).body == b'{"head":{},"boolean":true}'
    finally:
        pool.close()


def test_memory_limit_stops_the_query_and_the_pool_recovers(pool):
    answer = pool.run(Job(CROSS, SRJ, None, None), timeout=120)
    assert answer.status == 503 and b"memory" in answer.body and b"64 MB" in answer.body
    assert pool.run(Job("ASK { ?s ?p ?o }", SRJ, None, None), timeout=30).status == 200
    assert len(pool.pids()) == 2


def test_a_pool_belongs_to_the_process_that_made_it(store):
    first = pool_for(store, 1)
    try:
        assert pool_for(store, 1) is first
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # in a forked child (like a gunicorn worker) the inherited pool is not used
            try:
                os.write(write, b"new" if pool_for(store, 1) is not first else b"same")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 10) == b"new"
    finally:
        first.close()


def test_query_processes_end_when_their_parent_dies(store):
    """A web worker that dies (crash, kill -9) leaves no query process behind, even one just forked."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, " ".join(str(p) for p in QueryPool(store, 3).pids()).encode())
        finally:
            os._exit(0)  # no clean-up: as if killed
    os.waitpid(pid, 0)
    children = [int(p) for p in os.read(read, 200).split()]
    assert len(children) == 3
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in children):
        time.sleep(0.05)
    assert not [p for p in children if Path(f"/proc/{p}").exists()]


def test_query_processes_keep_no_socket_of_their_parent_but_their_own_pipe(store):
    """A child inherits the web worker's listening socket and open client connections; it closes them all."""
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    pool = QueryPool(store, 1)
    try:
        assert pool.run(Job("ASK { }", SRJ, None, None), timeout=30).status == 200  # the child is past its set-up
        [pid] = pool.pids()
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        assert len([link for link in links if link.startswith("socket:")]) == 1, links
    finally:
        pool.close()
        listener.close()
