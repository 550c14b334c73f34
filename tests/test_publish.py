"""``ckg publish`` into real engines (Oxigraph server, Virtuoso) started by the tests on 127.0.0.1.

What is held: the engine then answers with the same graph and rows as our embedded endpoint; a
republish never shows readers the half-loaded new graph (it is staged beside the target and
switched in one MOVE); failures end in one line and exit 2, leave the target graph as it was, and
never echo a password.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import requests
from pyoxigraph import RdfFormat, parse

from competency_kg.compile import compile_catalogue
from conftest import ROOT, free_port
from engines import Engine
from exports.publish import Credentials, PublishError, ntriples_chunks, publish, update_endpoint_for

sys.path.insert(0, str(ROOT / "bench"))
from synthetic import generate  # noqa: E402

ENGINES = ["oxigraph", "virtuoso"]
BUNDLED_GRAPH = "https://w3id.org/competency-kg/"
BUNDLED_TRIPLES = len(compile_catalogue(ROOT / "catalog").graph)
"""The bundled catalogue's size, from the same build `ckg publish` runs (it grows with every release)."""
"""The dataset IRI of the bundled catalogue: publish's default target graph."""


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


def test_published_graph_is_the_embedded_graph(engine: Engine, sparql_endpoint: str) -> None:
    result = run_publish(engine, "--graph-store", engine.graph_store)
    assert result.returncode == 0, result.stderr
    assert f"{BUNDLED_TRIPLES} triples" in result.stdout  # the bundled catalogue, in full

    assert construct(engine.query, BUNDLED_GRAPH) == construct(sparql_endpoint, None)
    for query in (LABELS, CRITERIA):
        on_engine = select(engine.query, query.format(**{"from": f"FROM <{BUNDLED_GRAPH}>"}))
        assert on_engine and on_engine == select(sparql_endpoint, query.format(**{"from": ""}))


def test_named_graph_option_and_republish_replace(engine: Engine) -> None:
    graph = "https://example.org/graph/current"
    for _ in range(2):  # the second publish replaces the graph: no duplicates, no leftovers
        result = run_publish(engine, "--graph-store", engine.graph_store, "--graph", graph, "--chunk", "100")
        assert result.returncode == 0, result.stderr
        assert count(engine, graph) == BUNDLED_TRIPLES
    progress = [line.split()[0] for line in result.stderr.splitlines() if "triples sent" in line]
    assert len(progress) >= 3 and progress[-1] == str(BUNDLED_TRIPLES)  # a line per chunk (whole competencies, about 100 triples)
    staging = select(engine.query, 'SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?g), "urn:uuid:")) }')
    assert staging == set()


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> tuple[list, list]:
    """Two catalogues of different sizes (statement groups), for replacing one with the other."""
    folder = tmp_path_factory.mktemp("versions")
    small = compile_catalogue(generate(folder / "small", 60), shacl=False).graph.ordered_groups
    large = compile_catalogue(generate(folder / "large", 240), shacl=False).graph.ordered_groups
    return small, large


def test_republish_never_shows_a_partial_graph(engine: Engine, two_versions) -> None:
    small, large = two_versions
    sizes = (sum(map(len, small)), sum(map(len, large)))
    graph = "https://example.org/graph/switch"
    credentials = Credentials(engine.user, engine.password)
    publish(small, graph_store=engine.graph_store, graph=graph, credentials=credentials)
    assert count(engine, graph) == sizes[0]

    seen_after_chunk: list[int] = []
    seen_by_reader: list[int] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            seen_by_reader.append(count(engine, graph))

    thread = threading.Thread(target=reader)
    thread.start()
    try:  # while chunks arrive, readers of the target see the old graph, untouched
        publish(large, graph_store=engine.graph_store, graph=graph, credentials=credentials, chunk_triples=2_000,
                progress=lambda sent, _: seen_after_chunk.append(count(engine, graph)))
    finally:
        done.set()
        thread.join(60)
    assert len(seen_after_chunk) > 10 and set(seen_after_chunk) == {sizes[0]}
    assert count(engine, graph) == sizes[1]
    assert 0 not in seen_by_reader
    if engine.name == "oxigraph":  # one transaction, isolated: the old graph or the new one, nothing between
        assert set(seen_by_reader) <= set(sizes)


def test_unreachable_engine_is_one_line_and_exit_2(oxigraph: Engine) -> None:
    url = f"http://127.0.0.1:{free_port()}/store"  # nothing listens there
    result = run_publish(oxigraph, "--graph-store", url)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "does not answer" in result.stderr and url in result.stderr and "Traceback" not in result.stderr


def test_wrong_password_is_refused_and_never_shown(virtuoso: Engine) -> None:
    graph = "https://example.org/graph/guarded"
    assert run_publish(virtuoso, "--graph-store", virtuoso.graph_store, "--graph", graph).returncode == 0
    wrong = "not-the-password-4711"
    result = run_publish(virtuoso, "--graph-store", virtuoso.graph_store, "--graph", graph,
                         env={"CKG_STORE_USER": virtuoso.user or "", "CKG_STORE_PASSWORD": wrong})
    assert result.returncode == 2
    assert "refused the credentials (HTTP 401)" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert wrong not in result.stderr + result.stdout
    assert count(virtuoso, graph) == BUNDLED_TRIPLES  # left as it was


def test_missing_credentials_say_which_variables(virtuoso: Engine) -> None:
    result = run_publish(virtuoso, "--graph-store", virtuoso.graph_store, env={})
    assert result.returncode == 2
    assert "CKG_STORE_USER and CKG_STORE_PASSWORD" in result.stderr


def test_engine_failure_reports_the_engines_message(virtuoso: Engine) -> None:
    """Virtuoso's anonymous /sparql endpoint refuses updates with HTTP 500 and its own error text."""
    graph = "https://example.org/graph/kept"
    assert run_publish(virtuoso, "--graph-store", virtuoso.graph_store, "--graph", graph).returncode == 0
    anonymous = virtuoso.update.replace("/sparql-auth", "/sparql")
    result = run_publish(virtuoso, "-q", "--graph-store", virtuoso.graph_store, "--graph", graph, "--update", anonymous)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "HTTP 500" in result.stderr and "SPARUL_MOVE" in result.stderr  # the engine's own words, trimmed
    assert "MOVE <urn:uuid:" in result.stderr  # plain text is not mistaken for HTML tags
    # the same endpoint refuses the clean-up too: the user is told which staging graph to drop
    assert "the staging graph <urn:uuid:" in result.stderr and "could not be dropped" in result.stderr
    assert count(virtuoso, graph) == BUNDLED_TRIPLES


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
    with pytest.raises(PublishError, match="--update URL"):
        publish([], graph_store="http://h/somewhere", graph="https://example.org/g")


def test_chunks_hold_every_statement_once(two_versions) -> None:
    small, _ = two_versions
    chunks = list(ntriples_chunks(small, 1_000))
    lines = [line for body, _ in chunks for line in body.decode().splitlines()]
    assert len(chunks) > 3 and all(n == len(body.decode().splitlines()) for body, n in chunks)
    assert lines == [f"{s} {p} {o} ." for group in small for s, p, o in group]


def test_credentials_follow_the_engines_challenge() -> None:
    from requests.auth import HTTPBasicAuth, HTTPDigestAuth

    user = Credentials.from_env({"CKG_STORE_USER": "u", "CKG_STORE_PASSWORD": "p"})
    assert isinstance(user.auth_for('Digest realm="virtuoso", nonce="x"'), HTTPDigestAuth)
    assert isinstance(user.auth_for('Basic realm="fuseki"'), HTTPBasicAuth)
    token = Credentials.from_env({"CKG_STORE_TOKEN": "t0k", "CKG_STORE_USER": "u"})
    request = requests.Request("GET", "http://127.0.0.1/").prepare()
    assert token.auth_for("Digest realm=x")(request).headers["Authorization"] == "Bearer t0k"  # a token wins
    assert Credentials.from_env({}).auth_for("Basic") is None and not Credentials.from_env({}).given
