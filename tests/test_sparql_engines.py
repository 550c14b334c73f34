"""``ckg serve --store``: the SPARQL endpoint in front of a real engine keeps the embedded contract.

Against Oxigraph server and Virtuoso (started by the tests, loaded by ``ckg publish``): the same
answers as embedded (same bytes where the format is deterministic, isomorphic graphs), the same
dataset (the catalogue graph, not the engine's union of graphs), nothing the engine would call out
for reaches it (a listener on 127.0.0.1 stays silent), the same time limit and result caps.
Against a fake engine on 127.0.0.1 (what real engines do only under conditions a test cannot cheaply
make): cut answers (X-SPARQL-MaxRows), Virtuoso's partial "anytime" answers, engine errors, an engine
that is down or never answers (the request is closed at the deadline), credentials.
"""
from __future__ import annotations

import base64
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs

import pytest
import rdflib
import requests
from rdflib.compare import isomorphic

from conftest import free_port, start_server
from engines import Engine
from exports.publication import current_graph
from store_support import ENGINES, LIVE_ARGS, Modes, modes, served_from  # noqa: F401 - fixtures

pytestmark = [pytest.mark.filterwarnings("ignore:.*ConjunctiveGraph.*:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*default_context.*:DeprecationWarning")]

P = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX ckg: <https://w3id.org/competency-kg/def#> "
     "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n")
SELECTS = {
    # ORDER BY must be total for equal bytes: literals of different languages have no SPARQL order, so STR/LANG
    "labels": P + "SELECT ?c ?label WHERE { ?c skos:prefLabel ?label } ORDER BY ?c STR(?label) LANG(?label)",
    "typed": P + "SELECT ?level ?rank WHERE { ?level ckg:rank ?rank } ORDER BY ?rank ?level",
    "grouped": P + "SELECT ?c (COUNT(?l) AS ?n) WHERE { ?c skos:prefLabel ?l } GROUP BY ?c ORDER BY DESC(?n) ?c",
    "all": "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p STR(?o) LANG(?o) STR(DATATYPE(?o))",
    "count": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "graphs": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g",
    "relative": "SELECT ?p ?o WHERE { <competency/klantgerichtheid> ?p ?o } ORDER BY ?p ?o",
    "cast": P + "SELECT ?level (xsd:string(?rank) AS ?r) WHERE { ?level ckg:rank ?rank } ORDER BY ?r ?level",
    "ask-yes": P + "ASK { ?c a ckg:Competency }",
    "ask-no": "ASK { ?s ?p \"no such value anywhere\" }",
}
OTHER_GRAPH = "https://example.org/not-the-catalogue"


@pytest.fixture(scope="module", params=ENGINES)
def pair(request, live_server: str, modes: Modes) -> tuple[str, str, Engine]:
    """(embedded root URL, engine-backed root URL, engine); the engine also holds another graph, which the
    endpoint must not show (it is not what the embedded store holds)."""
    engine = modes.engine(request.param)
    response = requests.put(engine.graph_store, params={"graph": OTHER_GRAPH}, timeout=60,
                            data=b"<https://example.org/s> <https://example.org/p> \"elsewhere\" .\n",
                            headers={"Content-Type": "application/n-triples"},
                            auth=requests.auth.HTTPDigestAuth(engine.user, engine.password) if engine.user else None)
    assert response.status_code in (200, 201, 204), response.text
    return live_server, modes.server(request.param), engine


def ask(root: str, query: str, fmt: str | None = None, **extra) -> requests.Response:
    params = {"query": query, **extra}
    if fmt:
        params["format"] = fmt
    return requests.get(root + "sparql", params=params, timeout=60)


# ---- the same answers ----

@pytest.mark.parametrize("name", list(SELECTS))
@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_select_and_ask_answers_are_the_same_bytes(pair, name, fmt):
    embedded, served, _ = pair
    expected, answer = ask(embedded, SELECTS[name], fmt), ask(served, SELECTS[name], fmt)
    assert expected.status_code == 200, expected.text
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, expected.headers["Content-Type"]), answer.text
    assert answer.content == expected.content


def _graph(response: requests.Response) -> rdflib.Graph:
    assert response.status_code == 200, response.text
    return rdflib.Graph().parse(data=response.content, format="nt")


@pytest.mark.parametrize("query", ["CONSTRUCT WHERE { ?s ?p ?o }",
                                   P + "CONSTRUCT { ?c skos:prefLabel ?l ; a skos:Concept } WHERE "
                                       "{ ?c a skos:Concept ; skos:prefLabel ?l }"])
def test_construct_answers_are_the_same_graph(pair, query):
    embedded, served, _ = pair
    expected = _graph(ask(embedded, query, "nt"))
    assert len(expected) > 10
    assert isomorphic(_graph(ask(served, query, "nt")), expected)


def test_the_dataset_is_the_catalogue_not_the_engines_union(pair):
    """The engine holds another graph (and Virtuoso its system graphs): a query naming no dataset sees none of
    them, as embedded; one that names the graph itself with FROM sees it."""
    embedded, served, _ = pair
    assert ask(served, SELECTS["count"], "csv").content == ask(embedded, SELECTS["count"], "csv").content
    assert ask(served, SELECTS["graphs"], "csv").content == b"g\r\n"
    other = ask(served, f"SELECT ?o FROM <{OTHER_GRAPH}> WHERE {{ ?s ?p ?o }}", "csv")
    assert other.content == b"o\r\nelsewhere\r\n"


def test_errors_have_the_embedded_statuses(pair):
    embedded, served, _ = pair
    for query in ("SELECT ?s WHERE { ?s ?p }", "SELECT * WHERE { ?s ?p ?o } LIMIT"):
        assert ask(served, query).status_code == ask(embedded, query).status_code == 400
    assert "not valid SPARQL 1.1" in ask(served, "SELECT ?s WHERE { ?s ?p }").text


def test_repeated_query_is_answered_from_the_cache(pair):
    _, served, _ = pair
    query = SELECTS["labels"] + " # cache probe"
    answers = [ask(served, query) for _ in range(3)]  # two workers: two of three land on the same one
    assert answers[0].headers["X-Cache"] == "miss"
    assert "hit" in [a.headers["X-Cache"] for a in answers[1:]]
    assert len({a.content for a in answers}) == 1


def test_time_limit_gives_the_embedded_503_and_the_engine_keeps_answering(pair):
    embedded, served, engine = pair
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
    expected, answer = ask(embedded, slow), ask(served, slow)
    assert (answer.status_code, answer.text) == (expected.status_code, expected.text) == (503, expected.text)
    assert "ran longer than" in answer.text
    assert ask(served, SELECTS["ask-yes"], "csv").content == b"true"


@pytest.mark.parametrize("limit_case", ["fits", "over", "no-limit"])
def test_result_cap_is_applied_as_embedded(live_server, modes, limit_case):
    """Within the cap the same bytes; beyond it (by LIMIT, or with no LIMIT at all) the same refusal, every format."""
    query = SELECTS["labels"] + {"fits": " LIMIT 5", "over": " LIMIT 6", "no-limit": ""}[limit_case]
    formats = ("json", "xml", "csv", "tsv")
    with start_server(*LIVE_ARGS, "--max-results", "5") as embedded:
        expected = {fmt: ask(embedded, query, fmt) for fmt in formats}
        assert {e.status_code for e in expected.values()} == {200 if limit_case == "fits" else 400}
        for name in ENGINES:
            with served_from(modes.engine(name), "--max-results", "5") as served:
                for fmt in formats:
                    answer = ask(served, query, fmt)
                    assert (answer.status_code, answer.content) == (expected[fmt].status_code, expected[fmt].content)


def test_blank_nodes_in_results_are_read_from_every_engine(pair):
    """Virtuoso labels blank nodes nodeID://…, which is no valid label: they are relabelled, not a 502."""
    _, served, engine = pair
    graph = "https://example.org/blank-nodes"
    response = requests.put(engine.graph_store, params={"graph": graph}, timeout=60,
                            data=b'_:a <https://example.org/p> "1" .\n_:b <https://example.org/p> "2" .\n',
                            headers={"Content-Type": "application/n-triples"},
                            auth=requests.auth.HTTPDigestAuth(engine.user, engine.password) if engine.user else None)
    assert response.status_code in (200, 201, 204), response.text
    query = f"SELECT ?b ?o FROM <{graph}> WHERE {{ ?b ?p ?o }} ORDER BY ?o"
    for fmt in ("json", "xml", "tsv"):
        answer = ask(served, query, fmt)
        assert answer.status_code == 200, answer.text
    rows = ask(served, query, "json").json()["results"]["bindings"]
    assert [r["o"]["value"] for r in rows] == ["1", "2"]
    assert [r["b"]["type"] for r in rows] == ["bnode", "bnode"] and rows[0]["b"] != rows[1]["b"]


# ---- nothing the engine would call out for reaches it ----

@contextmanager
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 recording every connection made to it (the first bytes of each)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    calls: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    calls.append(conn.recv(1024) or b"(connected)")
                except OSError:
                    calls.append(b"(connected)")
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], calls
    finally:
        stop.set()
        thread.join(5)
        server.close()


CALLING_OUT = {
    "virtuoso-sponge-pragma": ('define get:soft "soft" SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}', "DEFINE"),
    "virtuoso-sponge-pragma-lower": ('DeFiNe get:soft "replace" SELECT * WHERE {{ GRAPH <{url}> {{ ?s ?p ?o }} }}',
                                     "DEFINE"),
    "virtuoso-bif-predefined": ('SELECT (bif:http_get("{url}") AS ?x) WHERE {{}}', "bif:"),
    "virtuoso-bif-declared": ('PREFIX bif: <bif:> SELECT (bif:http_get("{url}") AS ?x) WHERE {{}}', "bif:"),
    "virtuoso-bif-iri": ('SELECT * WHERE {{ BIND(<bif:http_get>("{url}") AS ?x) }}', "bif:"),
    "virtuoso-sql-iri": ('SELECT * WHERE {{ FILTER(<sql:RDF_SPONGE_UP>(<{url}>)) }}', "sql:"),
    "virtuoso-option": ('SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }} OPTION (get:soft "soft")', "OPTION"),
    "extension-function": ('PREFIX f: <http://www.openlinksw.com/schemas/bif#> SELECT (f:http_get("{url}") AS ?x) '
                           'WHERE {{}}', "does not define"),
    "service": ('SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}', "SERVICE"),
    "service-silent": ('SELECT * WHERE {{ ?a ?b ?c SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}', "SERVICE"),
    "load": ('LOAD <{url}>', "read-only"),
}


@pytest.mark.parametrize("case", list(CALLING_OUT))
def test_what_would_call_out_is_refused_and_never_reaches_the_engine(pair, case):
    _, served, _ = pair
    template, says = CALLING_OUT[case]
    with listener() as (port, calls):
        answer = ask(served, template.format(url=f"http://127.0.0.1:{port}/x"))
        assert answer.status_code == 400, answer.text
        assert says in answer.text
    assert calls == []


def test_a_plain_from_iri_is_not_fetched(pair):
    """FROM names a graph of the engine; no engine may go and fetch it (Virtuoso would, told to sponge)."""
    _, served, _ = pair
    with listener() as (port, calls):
        answer = ask(served, f"SELECT ?s ?p ?o FROM <http://127.0.0.1:{port}/x> FROM NAMED <http://127.0.0.1:{port}/y> "
                             f"WHERE {{ ?s ?p ?o }}", "csv")
        assert (answer.status_code, answer.content) == (200, b"s,p,o\r\n")
    assert calls == []


# ---- what engines do under conditions a test cannot cheaply make: a fake engine ----

def _json_rows(count: int, value: str) -> bytes:
    """A JSON answer of ``count`` rows of ``value``, with no LIMIT and no cut header: only our caps can stop it."""
    row = b'{"x":{"type":"literal","value":"' + value.encode() + b'"}}'
    return b'{"head":{"vars":["x"]},"results":{"bindings":[' + b",".join([row] * count) + b"]}}"


ANSWERS = {
    # Virtuoso's own JSON: its spacing and tabs, "link", "distinct"/"ordered", SPARQL 1.0's "typed-literal",
    # blank nodes labelled nodeID://… (the value before or after the type), a literal that only looks like one
    "virtuoso-json": lambda: (
        b'{ "head": { "link": [], "vars": ["n", "b", "t"] },\n  "results": { "distinct": false, "ordered": true, '
        b'"bindings": [\n    { "n": { "type": "typed-literal", "datatype": "http://www.w3.org/2001/XMLSchema#integer",'
        b' "value": "7" }\t, "b": { "type": "bnode", "value": "nodeID://b10006" }\t, "t": { "type": "literal", '
        b'"value": "nodeID://b10006" }},\n    { "n": { "type": "typed-literal", "datatype": '
        b'"http://www.w3.org/2001/XMLSchema#integer", "value": "8" }\t, "b": { "value": "nodeID://b10007", '
        b'"type": "bnode" }}\n ] } }'),
    "virtuoso-ask-json": lambda: (b'{ "head": { "link": [], "vars": ["__ASK_RETVAL"] }, "results": { "distinct": '
                                  b'false, "ordered": true, "bindings": [ { "__ASK_RETVAL": { "type": '
                                  b'"typed-literal", "datatype": "http://www.w3.org/2001/XMLSchema#integer", '
                                  b'"value": "1" }} ] } }'),
    "many-rows": lambda: _json_rows(20_000, "r"),           # more rows than the cap of 10,000
    "many-bytes": lambda: _json_rows(2_000, "x" * 1_000),   # 2,000 rows, ~2 MiB: above the 1 MiB answer cap
    "huge": lambda: _json_rows(9_000, "x" * 1_000),         # ~9 MiB: above what is read from the engine (8 MiB)
}


class FakeEngine(BaseHTTPRequestHandler):
    """Answers by the ``#case:NAME`` comment in the query (a comment reaches the engine as written).

    A query without one (what ``ckg serve --store`` asks at start-up and for its pages) is passed on to
    ``real``, an engine loaded with the bundled catalogue, so the server in front starts as it would.
    """

    requests_seen: list[dict] = []
    closed = threading.Event()
    real: str = ""

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.send_error(405)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        query = form.get("query", [""])[0]
        if "#case:" not in query:
            passed = requests.post(FakeEngine.real, data=form, headers={"Accept": self.headers.get("Accept", "*/*")},
                                   timeout=60)
            return self._send(passed.status_code, passed.content, passed.headers.get("Content-Type", "text/plain"))
        FakeEngine.requests_seen.append({"form": form, "headers": dict(self.headers)})
        case = query.split("#case:", 1)[1].split()[0]
        if case == "auth" and self.headers.get("Authorization") != "Basic " + base64.b64encode(b"reader:s3cret").decode():
            return self._send(401, b"who are you?", "text/plain", {"WWW-Authenticate": 'Basic realm="fake"'})
        if case == "hang":
            self.connection.settimeout(60)
            if self.connection.recv(1) == b"":  # wait: the only way out is the client closing the connection
                FakeEngine.closed.set()
            return
        if case in ("dribble", "dribble-json"):  # the answer starts at once, then comes a byte at a time
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json" if case == "dribble-json"
                             else "application/sparql-results+xml")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(300):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                FakeEngine.closed.set()
            return
        if case == "error500":
            return self._send(500, b"Virtuoso 22003 Error SR017: internal trouble\n\nSPARQL query:\n" + query.encode(),
                              "text/plain")
        if case == "syntax500":
            return self._send(500, b"Virtuoso 37000 Error SP030: SPARQL compiler, line 2: syntax error\n\nSPARQL query:"
                                   b"\n" + query.encode(), "text/plain")
        if case in ANSWERS:
            return self._send(200, ANSWERS[case](), "application/sparql-results+json; charset=UTF-8")
        headers = {}
        if case == "maxrows":
            headers["X-SPARQL-MaxRows"] = "3"
        if case == "maxrows-big":
            headers["X-SPARQL-MaxRows"] = "20000"
        if case == "anytime":
            headers["X-SQL-State"] = "S1TAT"
            headers["X-SQL-Message"] = "RC...: Returning incomplete results, query interrupted by result timeout."
        if "json" in self.headers.get("Accept", ""):
            bindings = ",".join(f'{{"x":{{"type":"literal","value":"{i}"}}}}' for i in range(3))
            body = f'{{"head":{{"vars":["x"]}},"results":{{"bindings":[{bindings}]}}}}'.encode()
            return self._send(200, body, "application/sparql-results+json", headers)
        rows = "".join(f'<result><binding name="x"><literal>{i}</literal></binding></result>' for i in range(3))
        body = (f'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
                f'<variable name="x"/></head><results>{rows}</results></sparql>').encode()
        self._send(200, body, "application/sparql-results+xml", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def fake_engine(modes: Modes) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    """A fake engine on a free port (its query URL, and the server), in front of the session's Oxigraph server."""
    FakeEngine.real = modes.engine("oxigraph").query
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeEngine)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sparql", server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def fake(modes: Modes) -> Iterator[tuple[str, str]]:
    """(fake engine's URL, root URL of a server with --store pointing at it and a 1 s time limit)."""
    with fake_engine(modes) as (url, _), start_server(
            "--workers", "1", "--store", url, "--query-timeout", "1",
            env={"CKG_STORE_USER": "reader", "CKG_STORE_PASSWORD": "s3cret", "CKG_SPARQL_MAX_ANSWER_MIB": "1"}) as root:
        yield url, root


def test_the_fake_engine_answer_is_served(fake):
    _, root = fake
    answer = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:rows", "csv")
    assert (answer.status_code, answer.content) == (200, b"x\r\n0\r\n1\r\n2\r\n")
    sent = FakeEngine.requests_seen[-1]
    # the graph publish made current, which the pages read too
    assert sent["form"]["default-graph-uri"] == [current_graph(FakeEngine.real, "https://w3id.org/competency-kg/")]
    assert "timeout" in sent["form"]
    assert sent["headers"]["Content-Type"] == "application/x-www-form-urlencoded"  # never a direct POST


@pytest.mark.parametrize("fmt, asked", [("json", "application/sparql-results+json"),
                                         ("xml", "application/sparql-results+xml"),
                                         ("csv", "application/sparql-results+json"),
                                         ("tsv", "application/sparql-results+json")])
def test_the_engine_is_asked_for_the_clients_format_where_it_can_be_read_back(fake, fmt, asked):
    """So the engine does the work a direct client of that format would make it do (CSV cannot be read back)."""
    _, root = fake
    answer = ask(root, f"SELECT ?x WHERE {{ ?x ?p ?o }} #case:rows asked-{fmt}", fmt)  # not in the answer cache
    assert answer.status_code == 200, answer.text
    assert FakeEngine.requests_seen[-1]["headers"]["Accept"] == asked
    assert ask(root, f"ASK {{ ?x ?p ?o }} #case:rows asked-{fmt}", fmt).status_code == 200
    assert FakeEngine.requests_seen[-1]["headers"]["Accept"] == "application/sparql-results+xml"


def test_virtuosos_json_quirks_are_absorbed(fake):
    _, root = fake
    answer = ask(root, "SELECT ?n ?b ?t WHERE { ?n ?b ?t } #case:virtuoso-json", "json")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["results"]["bindings"]
    assert [r["n"] for r in rows] == [{"type": "literal", "value": v, "datatype": "http://www.w3.org/2001/XMLSchema#"
                                                                                 "integer"} for v in ("7", "8")]
    assert [r["b"]["type"] for r in rows] == ["bnode", "bnode"]
    assert rows[0]["b"]["value"] != rows[1]["b"]["value"] and "nodeID" not in rows[0]["b"]["value"]
    assert rows[0]["t"] == {"type": "literal", "value": "nodeID://b10006"}  # a literal is never touched
    truth = ask(root, "ASK { ?x ?p ?o } #case:virtuoso-ask-json", "json")
    assert (truth.status_code, truth.json()) == (200, {"head": {}, "boolean": True})


@pytest.mark.parametrize("fmt", ["json", "xml", "csv"])
def test_an_engine_answer_without_limit_beyond_the_caps_is_refused(fake, fmt):
    """Attacker's view: a query with no LIMIT whose answer is huge is counted and refused, never served whole or cut."""
    _, root = fake
    rows = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:many-rows", fmt)
    assert rows.status_code == 400 and "more than 10,000 rows" in rows.text
    size = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:many-bytes", fmt)
    assert size.status_code == 400 and "larger than 1 MiB, the most this endpoint sends" in size.text
    huge = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:huge", fmt)
    assert huge.status_code == 400 and "larger than the 8 MiB this endpoint reads from its engine" in huge.text


def test_an_answer_the_engine_cut_is_never_served_as_complete(fake):
    _, root = fake
    answer = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:maxrows")
    assert answer.status_code == 502 and "ResultSetMaxRows" in answer.text
    over = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:maxrows-big")
    assert over.status_code == 400 and "more than 10,000 rows" in over.text


def test_a_partial_anytime_answer_is_the_time_limit_503(fake):
    _, root = fake
    answer = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:anytime")
    assert answer.status_code == 503 and "ran longer than the 1 s" in answer.text


def test_engine_errors_are_mapped_and_cleaned(fake):
    _, root = fake
    failed = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:error500")
    assert failed.status_code == 502 and "internal trouble" in failed.text
    assert "Virtuoso 22003" not in failed.text and "Traceback" not in failed.text
    syntax = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:syntax500")
    assert syntax.status_code == 400 and syntax.text.startswith("the query is not valid SPARQL 1.1: SPARQL compiler")
    assert "SPARQL query:" not in syntax.text


def test_credentials_are_sent_when_the_engine_asks(fake):
    _, root = fake
    answer = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:auth", "csv")
    assert answer.status_code == 200, answer.text
    assert "s3cret" not in answer.text


@pytest.mark.parametrize("case", ["hang", "dribble", "dribble-json"])
def test_at_the_time_limit_the_engine_request_is_closed(fake, case):
    """Whether the engine sends nothing or an answer too slowly, the request is closed at the deadline."""
    _, root = fake
    FakeEngine.closed.clear()
    answer = ask(root, f"SELECT ?x WHERE {{ ?x ?p ?o }} #case:{case}")
    assert answer.status_code == 503 and "ran longer than the 1 s" in answer.text
    assert FakeEngine.closed.wait(30), "the engine's connection was left open after the time limit"


def test_an_engine_that_is_down_is_a_502_that_says_so(modes: Modes):
    """The engine stops after the server started (start-up itself needs it): queries get a 502 naming it."""
    with fake_engine(modes) as (url, engine):
        port = url.split(":")[2].split("/")[0]
        with start_server("--workers", "1", "--store", f"http://reader:s3cret@127.0.0.1:{port}/sparql") as root:
            engine.shutdown()
            engine.server_close()  # nothing listens there any more
            answer = ask(root, "SELECT * WHERE { ?s ?p ?o }")
    assert answer.status_code == 502 and "is not answering" in answer.text and "Traceback" not in answer.text
    assert f"127.0.0.1:{port}/sparql" in answer.text and "s3cret" not in answer.text  # user-info never shown


def test_admission_is_as_embedded_busy_slots_give_503_with_retry_after(fake):
    """Two slots per worker: of twelve queries the engine holds, the ones that find no slot get the embedded 503."""
    _, root = fake
    answers: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        answer = ask(root, "SELECT ?x WHERE { ?x ?p ?o } #case:hang")
        with lock:
            answers.append(answer)
    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 12 and all(a.status_code == 503 for a in answers)
    busy = [a for a in answers if "slots of this server process are busy" in a.text]
    assert busy and all(a.headers.get("Retry-After") == "1" for a in busy)
