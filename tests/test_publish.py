"""``ckg publish`` into real engines (Oxigraph server, Virtuoso) started by the tests on 127.0.0.1.

What is held: the current graph (found through the pointer graph, as readers find it) answers with
the same graph and rows as our embedded endpoint, and each release graph holds its own dump; a
reader resolving the pointer during publishes sees the old graph or the new one, never a partial
one, on both engines; a release is unknown to readers until loaded whole, skipped when unchanged,
refused when changed; failures end in one line and exit 2 (1 for a broken release folder), leave
the current graph as it was, and never echo a password or token.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import socket
import time
import urllib.parse
import uuid
from typing import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from pyoxigraph import RdfFormat, parse

from competency_kg.compile import compile_catalogue
from conftest import ROOT, free_port
from engines import Engine
from exports import publication
from exports import publish as publish_module
from exports.publication import current_graph
from exports.publish import (Credentials, GraphStore, PublishError, ntriples_chunks, open_store, publish, publish_releases,
                             query_endpoint_for, read_release, update_endpoint_for)
from ontology.releases import rebase_text

sys.path.insert(0, str(ROOT / "bench"))
from synthetic import generate  # noqa: E402

ENGINES = ["oxigraph", "virtuoso"]
BUNDLED_GRAPH = "https://w3id.org/competency-kg/"
"""The dataset IRI of the bundled catalogue: the default name of its current graph."""
BUNDLED_TRIPLES = len(compile_catalogue(ROOT / "catalog").graph)
"""The bundled catalogue's size, from the same build `ckg publish` runs (it grows with every release)."""
RELEASE = ROOT / "catalog" / "releases" / "1.0.0"


@pytest.fixture(params=ENGINES)
def engine(request) -> Engine:
    return request.getfixturevalue(request.param)


def run_publish(engine: Engine, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    environment.update(engine.env() if env is None else env)
    return subprocess.run([sys.executable, "-m", "ckg.cli", "publish", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=600)


def construct(endpoint: str, graph: str | None) -> set[str]:
    """Every triple (of one named graph, or of the default graph) as a set of N-Triples lines."""
    where = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    response = requests.post(endpoint, data={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}"},
                             headers={"Accept": "application/n-triples"}, timeout=120)
    response.raise_for_status()  # N-Triples: Virtuoso's Turtle writer turns xsd:double values into long decimals
    return {str(triple) for triple in parse(response.content, format=RdfFormat.N_TRIPLES)}


def select(endpoint: str, query: str) -> set[tuple[str, ...]]:
    response = requests.post(endpoint, data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                             timeout=120)
    response.raise_for_status()
    body = response.json()
    names = body["head"]["vars"]
    return {tuple(f"{row[n].get('value')}@{row[n].get('xml:lang', '')}" if n in row else "" for n in names)
            for row in body["results"]["bindings"]}


def count(engine: Engine, graph: str) -> int:
    rows = select(engine.query, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return int(next(iter(rows))[0].split("@")[0])


LABELS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?concept ?label {from} WHERE {{ ?concept a skos:Concept ; skos:prefLabel ?label }}"""
CRITERIA = """PREFIX ckg: <https://w3id.org/competency-kg/def#>
SELECT ?level ?rank ?criterion ?position {from} WHERE {{
  ?level ckg:rank ?rank . ?level ?has ?criterion . ?criterion ckg:position ?position }}"""


def current(engine: Engine, graph: str) -> str | None:
    """The graph a reader would read for ``graph``: through the pointer, as ``ckg serve --store`` does."""
    return current_graph(engine.query, graph)


def release_text(folder, base: str = BUNDLED_GRAPH) -> set[str]:
    """A release's own N-Triples dump as a set of lines (rebased as publish rebases it)."""
    text = rebase_text((folder / "catalogue.nt").read_text(encoding="utf-8"), BUNDLED_GRAPH, base)
    return {str(t) for t in parse(text.encode(), format=RdfFormat.N_TRIPLES)}


def graphs(engine: Engine) -> set[str]:
    return {row[0].split("@")[0] for row in select(engine.query, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")}


def built(base: str) -> set[str]:
    """The bundled catalogue as ``ckg build --base`` makes it, as a set of N-Triples lines (as ``construct`` gives them)."""
    text = "".join(f"{s} {p} {o} .\n" for s, p, o in compile_catalogue(ROOT / "catalog", base=base).graph.statements())
    return {str(triple) for triple in parse(text.encode(), format=RdfFormat.N_TRIPLES)}


def rebased_cell(cell: str, base: str) -> str:
    """A SELECT cell of ``select`` (an IRI or a literal, with ``@lang``) as it reads once published under ``base``."""
    return rebase_text("<" + cell, BUNDLED_GRAPH, base)[1:]


def test_catalogue_publishes_its_releases_and_the_current_graph(engine: Engine, sparql_endpoint: str) -> None:
    # A base of its own: the engines are shared by the whole session, and other tests (tests/test_store_*)
    # publish the bundled catalogue under its default base, which would make the first publish here a repeat.
    # A name of its own too, not the dataset's IRI: discovery (test_store_serve) takes the one name that is.
    run = f"{engine.name}-{uuid.uuid4().hex[:8]}"
    base, name = f"https://example.org/own-{run}/", f"https://example.org/publish-test/{run}"
    result = run_publish(engine, "--graph-store", engine.graph_store, "--base", base, "--graph", name)
    assert result.returncode == 0, result.stderr
    assert f"published {BUNDLED_TRIPLES} triples as the current <{name}>" in result.stdout
    release_iri = base + "release/1.0.0/"
    assert f"published 645 triples into <{release_iri}>" in result.stdout  # the bundled release, in its own graph
    assert construct(engine.query, release_iri) == release_text(RELEASE, base)

    first = current(engine, name)
    assert first and first not in (base, name)
    # the engine holds exactly the build under that base, as the embedded server holds the build under its own
    assert construct(engine.query, first) == built(base)
    assert construct(sparql_endpoint, None) == built(BUNDLED_GRAPH) != built(base)
    for query in (LABELS, CRITERIA):
        on_engine = select(engine.query, query.format(**{"from": f"FROM <{first}>"}))
        assert on_engine and on_engine == {tuple(rebased_cell(cell, base) for cell in row)
                                           for row in select(sparql_endpoint, query.format(**{"from": ""}))}

    # again: the unchanged release is skipped (its checksum is recorded), the current graph is switched
    again = run_publish(engine, "--graph-store", engine.graph_store, "--base", base, "--graph", name)
    assert again.returncode == 0, again.stderr
    assert f"<{release_iri}> is already published with the same content" in again.stdout
    assert "release 1.0.0" not in again.stderr  # not a triple of it was sent
    second = current(engine, name)
    assert second not in (first, None) and count(engine, second) == BUNDLED_TRIPLES
    assert first in graphs(engine)  # the previous graph stays for readers holding the old pointer ...
    third = run_publish(engine, "--graph-store", engine.graph_store, "--base", base, "--graph", name)
    assert third.returncode == 0 and f"dropping the old graph <{first}>" in third.stderr
    assert first not in graphs(engine) and second in graphs(engine)  # ... until the next publish drops it
    assert construct(engine.query, release_iri) == release_text(RELEASE, base)

    # by default: the catalogue's own base, named by its dataset IRI (whether or not another test published it first)
    default = run_publish(engine, "--graph-store", engine.graph_store)
    assert default.returncode == 0, default.stderr
    assert f"published {BUNDLED_TRIPLES} triples as the current <{BUNDLED_GRAPH}>" in default.stdout
    assert construct(engine.query, current(engine, BUNDLED_GRAPH)) == built(BUNDLED_GRAPH)


def test_a_release_folder_alone_is_published_skipped_or_refused(engine: Engine, tmp_path) -> None:
    folder = tmp_path / "1.0.0"  # a release on its own, no catalogue YAML anywhere near it
    shutil.copytree(RELEASE, folder)
    base = f"https://example.org/solo-{engine.name}/"
    release_iri = base + "release/1.0.0/"
    result = run_publish(engine, "--graph-store", engine.graph_store, "--base", base, str(folder))
    assert result.returncode == 0, result.stderr
    assert construct(engine.query, release_iri) == release_text(folder, base)
    assert current(engine, base) is None  # a release alone never touches the current graph
    with_graph = run_publish(engine, "--graph-store", engine.graph_store, "--graph", base, str(folder))
    assert with_graph.returncode == 2 and "leave --graph out" in with_graph.stderr

    again = run_publish(engine, "--graph-store", engine.graph_store, "--base", base, str(folder))
    assert again.returncode == 0 and "already published with the same content" in again.stdout

    # the same version with other content, consistent with its own manifest: refused, the engine's copy kept
    nt = folder / "catalogue.nt"
    nt.write_text(nt.read_text(encoding="utf-8").replace('"Klantgerichtheid"@nl', '"Klantvriendelijkheid"@nl'),
                  encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == "catalogue.nt":
            entry["sha256"] = hashlib.sha256(nt.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    changed = run_publish(engine, "--graph-store", engine.graph_store, "--base", base, str(folder))
    assert changed.returncode == 2 and "releases are immutable" in changed.stderr, changed.stderr
    assert len(changed.stderr.strip().splitlines()) == 1
    assert construct(engine.query, release_iri) == release_text(RELEASE, base)

    # a dump that no longer matches its manifest never reaches the engine
    nt.write_text(nt.read_text(encoding="utf-8") + nt.read_text(encoding="utf-8").splitlines(True)[0], encoding="utf-8")
    tampered = run_publish(engine, "--graph-store", engine.graph_store, "--base", base + "t/", str(folder))
    assert tampered.returncode == 1 and "does not match the SHA-256" in tampered.stderr
    assert base + "t/release/1.0.0/" not in graphs(engine)


def test_a_release_is_unknown_to_readers_until_loaded_whole(engine: Engine) -> None:
    base = f"https://example.org/whole-{engine.name}/"
    release = read_release(RELEASE, base)
    store = open_store(engine.graph_store, credentials=Credentials(engine.user, engine.password))
    recorded_during: list[int] = []
    records = publication.release_records_query([release.iri])
    results = publish_releases([release], store, chunk_triples=50,
                               progress=lambda *_: recorded_during.append(len(store.select(records, "read"))))
    assert len(recorded_during) > 10 and set(recorded_during) == {0}
    assert results[0].triples == 645 and len(store.select(records, "read")) == 1


def test_named_graph_option_progress_and_no_leftovers(engine: Engine) -> None:
    graph = "https://example.org/graph/current"
    for _ in range(3):
        result = run_publish(engine, "--graph-store", engine.graph_store, "--graph", graph, "--chunk", "100")
        assert result.returncode == 0, result.stderr
        assert count(engine, current(engine, graph)) == BUNDLED_TRIPLES
    progress = [line.split()[1] for line in result.stderr.splitlines() if line.strip().startswith("current:")]
    assert len(progress) >= 3 and progress[-1] == str(BUNDLED_TRIPLES)  # a line per chunk (whole competencies, about 100 triples)
    staged = select(engine.query, f"SELECT ?g WHERE {{ GRAPH <{publication.POINTER_GRAPH}> "
                                  f"{{ ?g <{publication.STAGED_FOR}> <{graph}> }} }}")
    assert len(staged) == 2  # the current graph and the previous one, nothing older


def test_a_load_that_died_is_dropped_by_the_next_publish(engine: Engine) -> None:
    graph = "https://example.org/graph/crashed"
    store = open_store(engine.graph_store, credentials=Credentials(engine.user, engine.password))
    dead = "urn:uuid:00000000-0000-4000-8000-000000000001"
    store.run_update(publication.staged_update(graph, dead), "record")  # what a killed publish leaves behind
    store.put(dead, b"<urn:x:s> <urn:x:p> <urn:x:o> .\n", replace=True)
    assert dead in graphs(engine)
    assert run_publish(engine, "--graph-store", engine.graph_store, "--graph", graph).returncode == 0
    assert dead not in graphs(engine) and current(engine, graph) != dead


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> tuple[list, list]:
    """Two catalogues of different sizes (statement groups), for replacing one with the other."""
    folder = tmp_path_factory.mktemp("versions")
    small = compile_catalogue(generate(folder / "small", 60), shacl=False).graph.ordered_groups
    large = compile_catalogue(generate(folder / "large", 240), shacl=False).graph.ordered_groups
    return small, large


def test_republish_never_shows_a_partial_graph(engine: Engine, two_versions) -> None:
    """A reader resolving the pointer, during a whole publish, counts the old graph or the new one: nothing between."""
    small, large = two_versions
    sizes = (sum(map(len, small)), sum(map(len, large)))
    graph = "https://example.org/graph/switch"
    credentials = Credentials(engine.user, engine.password)
    publish(small, graph_store=engine.graph_store, graph=graph, credentials=credentials)
    assert count(engine, current(engine, graph)) == sizes[0]

    seen_after_chunk: list[int] = []
    seen_by_reader: list[int] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen_by_reader.append(count(engine, current(engine, graph)))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        publish(large, graph_store=engine.graph_store, graph=graph, credentials=credentials, chunk_triples=2_000,
                progress=lambda *_: seen_after_chunk.append(count(engine, current(engine, graph))))
        for _ in range(3):  # and the switch back and forth, with the clean-up of old graphs in between
            publish(small, graph_store=engine.graph_store, graph=graph, credentials=credentials, chunk_triples=20_000)
            publish(large, graph_store=engine.graph_store, graph=graph, credentials=credentials, chunk_triples=20_000)
    finally:
        done.set()
        thread.join(60)
    assert len(seen_after_chunk) > 10 and set(seen_after_chunk) == {sizes[0]}
    assert count(engine, current(engine, graph)) == sizes[1]
    assert len(seen_by_reader) > 20 and set(seen_by_reader) == set(sizes)


def test_unreachable_engine_is_one_line_and_exit_2(oxigraph: Engine) -> None:
    url = f"http://127.0.0.1:{free_port()}/store"  # nothing listens there
    result = run_publish(oxigraph, "--graph-store", url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "does not answer" in result.stderr and url in result.stderr and "Traceback" not in result.stderr


def test_wrong_password_is_refused_and_never_shown(virtuoso: Engine) -> None:
    graph = "https://example.org/graph/guarded"
    assert run_publish(virtuoso, "--graph-store", virtuoso.graph_store, "--graph", graph).returncode == 0
    before = current(virtuoso, graph)
    wrong = "not-the-password-4711"
    result = run_publish(virtuoso, "--graph-store", virtuoso.graph_store, "--graph", graph,
                         env={"CKG_STORE_USER": virtuoso.user or "", "CKG_STORE_PASSWORD": wrong})
    assert result.returncode == 2
    assert "refused the credentials (HTTP 401)" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert wrong not in result.stderr + result.stdout
    assert current(virtuoso, graph) == before and count(virtuoso, before) == BUNDLED_TRIPLES  # left as it was


def test_refused_token_is_said_and_never_shown(virtuoso: Engine) -> None:
    token = "tok-3b1f-not-valid"
    result = run_publish(virtuoso, "--graph-store", virtuoso.graph_store, env={"CKG_STORE_TOKEN": token})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "refused the credentials (HTTP 401)" in result.stderr and "CKG_STORE_TOKEN" in result.stderr
    assert token not in result.stderr + result.stdout


def test_an_engine_that_dies_during_the_upload(tmp_path) -> None:
    """The engine goes away after the first chunk: one clear error, and the graph the user must drop later."""
    from engines import oxigraph_binary, oxigraph_server
    if not oxigraph_binary():
        pytest.skip("the oxigraph server is not installed")
    small = compile_catalogue(generate(tmp_path / "small", 60), shacl=False).graph.ordered_groups
    with oxigraph_server(free_port()) as engine:
        def kill_after_first_chunk(label: str, sent: int, seconds: float) -> None:
            os.killpg(engine.pid, signal.SIGKILL)
            assert wait_until_refused(engine.graph_store)

        with pytest.raises(PublishError) as raised:
            publish(small, graph_store=engine.graph_store, graph="https://example.org/graph/died", chunk_triples=500,
                    progress=kill_after_first_chunk)
    message = str(raised.value)
    assert "does not answer (connection refused)" in message and engine.graph_store in message
    assert "could not be dropped: drop it with DROP SILENT GRAPH <urn:uuid:" in message


class DropsFirstConnection(BaseHTTPRequestHandler):
    """A Graph Store that closes the first connection without answering (an engine's idle timeout racing
    the next request on a kept-alive connection), then accepts everything."""

    seen: list[bytes] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        DropsFirstConnection.seen.append(body)
        if len(DropsFirstConnection.seen) == 1:
            self.close_connection = True
            return  # no status line: the client sees the connection end
        self.send_response(204)
        self.end_headers()


def test_a_connection_the_engine_closed_is_retried_once_on_a_new_one() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), DropsFirstConnection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/store"
        GraphStore(url, url, Credentials()).put("https://example.org/g", b"<urn:a> <urn:b> <urn:c> .\n", replace=False)
    finally:
        server.shutdown()
        server.server_close()
    assert DropsFirstConnection.seen == [b"<urn:a> <urn:b> <urn:c> .\n"] * 2  # sent again, once


class NeverAnswers(BaseHTTPRequestHandler):
    """An engine that takes every request and closes the connection without a status line."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.close_connection = True


def test_an_engine_that_keeps_closing_the_connection_is_named_in_words() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NeverAnswers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/store"
        with pytest.raises(PublishError) as raised:
            GraphStore(url, url, Credentials()).put("https://example.org/g", b"<urn:a> <urn:b> <urn:c> .\n", replace=False)
    finally:
        server.shutdown()
        server.server_close()
    assert str(raised.value).startswith(f"cannot upload into <https://example.org/g>: {url} does not answer "
                                        "(the engine closed the connection without answering)")


class StallsFirstUpload(BaseHTTPRequestHandler):
    """A Graph Store that takes the first upload and never answers it (what Virtuoso 7.2 did once in a
    20,000-competency load: bench/RESULTS.md), then answers every upload at once; ``stalls`` uploads stall."""

    seen: list[bytes] = []
    stalls = 1

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        StallsFirstUpload.seen.append(body)
        if len(StallsFirstUpload.seen) <= StallsFirstUpload.stalls:
            time.sleep(3)  # far past the test's stall limit: the client has given up on this connection
            self.close_connection = True
            return
        self.send_response(204)
        self.end_headers()


def stalling_store(stalls: int) -> Iterator[tuple[GraphStore, list[str]]]:
    StallsFirstUpload.seen, StallsFirstUpload.stalls = [], stalls
    yield from canned_store(StallsFirstUpload, stall_seconds=0.5, stall_seconds_per_triple=0.0)


def canned_store(handler: type, **options) -> Iterator[tuple[GraphStore, list[str]]]:
    """A GraphStore (with ``options``) on a local server answering with ``handler``, and the notices it gives."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads, server.block_on_close = True, False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/store"
    store = GraphStore(url, url, Credentials(), **options)
    notices: list[str] = []
    store.notice = notices.append
    try:
        yield store, notices
    finally:
        server.shutdown()
        server.server_close()


def test_an_upload_the_engine_leaves_unanswered_is_sent_again_on_a_new_connection() -> None:
    body = b"<urn:a> <urn:b> <urn:c> .\n"
    for store, notices in stalling_store(stalls=1):
        store.put("https://example.org/g", body, replace=False, triples=1)
    assert StallsFirstUpload.seen == [body] * 2  # sent again, once, and accepted
    assert notices == ["the engine did not answer an upload of 1 triples into <https://example.org/g> in 0.5 s "
                       "(attempt 1 of 3); sending it again on a new connection"]


def test_an_engine_that_never_answers_an_upload_is_given_up_on_with_a_clear_error() -> None:
    for store, notices in stalling_store(stalls=5):
        with pytest.raises(PublishError) as raised:
            store.put("https://example.org/g", b"<urn:a> <urn:b> <urn:c> .\n", replace=False, triples=1)
    assert len(StallsFirstUpload.seen) == 3 and len(notices) == 3
    assert "did not answer an upload of 1 triples in 0.5 s, 3 times; is the engine overloaded or stalled?" in str(raised.value)


class Deadlocks(BaseHTTPRequestHandler):
    """A Graph Store that refuses the first ``times`` uploads as Virtuoso does a deadlock's victim, then takes them."""

    seen: list[bytes] = []
    times = 2
    message = b"Virtuoso 40001 Error SR172: Transaction deadlocked"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        Deadlocks.seen.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        refused = len(Deadlocks.seen) <= Deadlocks.times
        self.send_response(500 if refused else 204)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.message) if refused else 0))
        self.end_headers()
        if refused:
            self.wfile.write(self.message)


def deadlocking_store(times: int, message: bytes, monkeypatch) -> Iterator[tuple[GraphStore, list[str]]]:
    Deadlocks.seen, Deadlocks.times, Deadlocks.message = [], times, message
    monkeypatch.setattr(publish_module, "DEADLOCK_PAUSES", (0.01, 0.01, 0.01))
    yield from canned_store(Deadlocks)


def test_a_deadlocks_victim_is_sent_again_and_a_lasting_one_reported(monkeypatch) -> None:
    body = b"<urn:a> <urn:b> <urn:c> .\n"
    for store, notices in deadlocking_store(2, b"Virtuoso 40001 Error SR172: Transaction deadlocked", monkeypatch):
        store.put("https://example.org/g", body, replace=False, triples=1)
    assert Deadlocks.seen == [body] * 3 and len(notices) == 2 and "deadlock" in notices[0]
    for store, notices in deadlocking_store(9, b"Virtuoso 40001 Error SR172: Transaction deadlocked", monkeypatch):
        with pytest.raises(PublishError, match="HTTP 500: Virtuoso 40001 Error SR172: Transaction deadlocked"):
            store.put("https://example.org/g", body, replace=False, triples=1)
    assert len(Deadlocks.seen) == 4  # the first try and one per pause, then the engine's own words
    for store, notices in deadlocking_store(9, b"Virtuoso 22023 Error SR007: bad data", monkeypatch):
        with pytest.raises(PublishError, match="SR007"):
            store.put("https://example.org/g", body, replace=False, triples=1)
    assert len(Deadlocks.seen) == 1 and notices == []  # other engine errors are not sent again


def test_an_upload_sent_twice_leaves_each_triple_once(engine: Engine) -> None:
    """What sending a stalled upload again relies on: the engine keeps RDF's set semantics for a repeated chunk."""
    graph = f"urn:uuid:{uuid.uuid4()}"
    store = open_store(engine.graph_store, credentials=Credentials(engine.user, engine.password))
    body = "".join(f"<urn:s{i}> <urn:p> \"{i}\" .\n" for i in range(1000)).encode()
    store.put(graph, body, replace=True, triples=1000)
    store.put(graph, body, replace=False, triples=1000)
    assert count(engine, graph) == 1000
    store.drop(graph)


def wait_until_refused(url: str) -> bool:
    """Whether the engine's port refuses connections within 10 s.

    A killed multi-threaded server's main thread shows as a zombie while its other threads still hold
    the listening socket; a connection made then is accepted and reset, not refused (a CI run failed so).
    """
    address = urllib.parse.urlsplit(url)
    for _ in range(100):
        try:
            socket.create_connection((address.hostname, address.port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def test_missing_credentials_say_which_variables(virtuoso: Engine) -> None:
    result = run_publish(virtuoso, "--graph-store", virtuoso.graph_store, env={})
    assert result.returncode == 2
    assert "CKG_STORE_USER and CKG_STORE_PASSWORD" in result.stderr


def test_engine_failure_reports_the_engines_message(virtuoso: Engine) -> None:
    """Virtuoso's anonymous /sparql endpoint refuses updates with HTTP 500 and its own error text."""
    graph = "https://example.org/graph/kept"
    base = ["--base", "https://example.org/kept/"]
    assert run_publish(virtuoso, *base, "--graph-store", virtuoso.graph_store, "--graph", graph).returncode == 0
    before = current(virtuoso, graph)
    anonymous = virtuoso.update.replace("/sparql-auth", "/sparql")
    result = run_publish(virtuoso, *base, "-q", "--graph-store", virtuoso.graph_store, "--graph", graph,
                         "--update", anonymous)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "HTTP 500" in result.stderr and "No permission" in result.stderr  # the engine's own words, trimmed
    assert "INSERT DATA { GRAPH <" in result.stderr  # plain text is not mistaken for HTML tags
    assert current(virtuoso, graph) == before and count(virtuoso, before) == BUNDLED_TRIPLES


def test_a_failed_release_load_says_what_to_drop(virtuoso: Engine) -> None:
    """The upload is accepted, the record is refused, and so is the clean-up: the user is told what to drop."""
    anonymous = virtuoso.update.replace("/sparql-auth", "/sparql")
    base = "https://example.org/refused/"
    result = run_publish(virtuoso, "-q", "--graph-store", virtuoso.graph_store, "--update", anonymous,
                         "--base", base, str(RELEASE))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "HTTP 500" in result.stderr and f"record release 1.0.0" in result.stderr
    assert f"could not be dropped: drop it with DROP SILENT GRAPH <{base}release/1.0.0/>" in result.stderr
    assert select(virtuoso.query, publication.release_records_query([base + "release/1.0.0/"])) == set()
    # readers do not know it: it is not recorded; the next publish replaces what is there and records it
    assert run_publish(virtuoso, "--graph-store", virtuoso.graph_store, "--base", base, str(RELEASE)).returncode == 0
    assert construct(virtuoso.query, base + "release/1.0.0/") == release_text(RELEASE, base)


def test_engine_error_on_oxigraph(oxigraph: Engine) -> None:
    """An update sent to Oxigraph's query endpoint: the engine's 4xx message comes through in one line."""
    result = run_publish(oxigraph, "-q", "--graph-store", oxigraph.graph_store, "--update", oxigraph.query)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "the engine answered HTTP 4" in result.stderr


def test_not_an_iri_is_a_usage_error(oxigraph: Engine) -> None:
    result = run_publish(oxigraph, "--graph-store", oxigraph.graph_store, "--graph", "current graph")
    assert result.returncode == 2 and "not an absolute IRI" in result.stderr


def test_update_endpoint_is_derived_for_known_engines() -> None:
    assert update_endpoint_for("http://h:7878/store") == "http://h:7878/update"
    assert update_endpoint_for("http://h:8890/sparql-graph-crud-auth") == "http://h:8890/sparql-auth"
    assert update_endpoint_for("http://h:3030/ds/data") == "http://h:3030/ds/update"
    assert update_endpoint_for("http://h/repositories/r/rdf-graphs/service") == "http://h/repositories/r/statements"
    assert update_endpoint_for("http://h/somewhere") is None
    assert query_endpoint_for("http://h:7878/store") == "http://h:7878/query"
    assert query_endpoint_for("http://h:8890/sparql-graph-crud-auth") == "http://h:8890/sparql-auth"
    assert query_endpoint_for("http://h/repositories/r/rdf-graphs/service") == "http://h/repositories/r"
    with pytest.raises(PublishError, match="--update URL"):
        publish([], graph_store="http://h/somewhere", graph="https://example.org/g")


def test_chunks_hold_every_statement_once(two_versions) -> None:
    small, _ = two_versions
    chunks = list(ntriples_chunks(small, 1_000))
    lines = [line for body, _ in chunks for line in body.decode().splitlines()]
    assert len(chunks) > 3 and all(n == len(body.decode().splitlines()) for body, n in chunks)
    assert lines == [f"{s} {p} {o} ." for group in small for s, p, o in group]


def test_a_group_larger_than_a_chunk_is_cut_where_the_count_says() -> None:
    """No request above --chunk triples, whatever the grouping: a 617,455-triple group was one request
    Virtuoso 7.2 never answered (bench/RESULTS.md)."""
    group = [(f"<urn:s{i}>", "<urn:p>", f'"{i}"') for i in range(2_500)]
    chunks = list(ntriples_chunks([group[:10], group[10:]], 1_000))
    assert [n for _, n in chunks] == [1_000, 1_000, 500]
    assert b"".join(body for body, _ in chunks).decode() == "".join(f"{s} {p} {o} .\n" for s, p, o in group)
    by_size = list(ntriples_chunks([group], 1_000_000, chunk_characters=10_000))  # long lines: the text caps it
    assert all(len(body) <= 10_000 + 40 for body, _ in by_size) and sum(n for _, n in by_size) == 2_500


def test_credentials_follow_the_engines_challenge() -> None:
    from requests.auth import HTTPBasicAuth, HTTPDigestAuth

    user = Credentials.from_env({"CKG_STORE_USER": "u", "CKG_STORE_PASSWORD": "p"})
    assert isinstance(user.auth_for('Digest realm="virtuoso", nonce="x"'), HTTPDigestAuth)
    assert isinstance(user.auth_for('Basic realm="fuseki"'), HTTPBasicAuth)
    # several challenges (requests joins the headers with ", "): Digest wherever it is, never Basic then
    assert isinstance(user.auth_for('Basic realm="v", Digest realm="v", nonce="x", qop="auth"'), HTTPDigestAuth)
    assert isinstance(user.auth_for('Basic realm="the digest of it", charset="UTF-8"'), HTTPBasicAuth)
    token = Credentials.from_env({"CKG_STORE_TOKEN": "t0k", "CKG_STORE_USER": "u"})
    request = requests.Request("GET", "http://127.0.0.1/").prepare()
    assert token.auth_for("Digest realm=x")(request).headers["Authorization"] == "Bearer t0k"  # a token wins
    assert Credentials.from_env({}).auth_for("Basic") is None and not Credentials.from_env({}).given
