"""The pre-execution checks and size bounds of the SPARQL endpoint, without a server.

Each lexical rule is checked both ways: what must be refused is refused, and the look-alikes in
strings, IRIs, comments, variables and prefixed names are not.
"""
from __future__ import annotations

import os
import socket

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store

from service.sparql.execute import Job, execute
from service.sparql.formats import GRAPH_FORMATS, SOLUTION_FORMATS
from service.sparql.pool import isolate_network
from service.sparql.safety import bare_words, decode_escapes, inspect_query

SERVICE_QUERIES = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "select * where { service <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://x/> { ?s ?p ?o } }",
    "SELECT*WHERE{SERVICE<http://x/>{?s ?p ?o}}",
    "PREFIX s: <http://x/>\nSELECT * WHERE { ?a ?b ?c . # comment\n SERVICE s:endpoint { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://x/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p 'a' . SeRvIcE ?endpoint { ?s ?p ?o } }",
    # a number ends where the grammar ends it: 1.SERVICE is the integer 1, '.', SERVICE
    "SELECT * WHERE { ?s ?p 1.SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p 1.5e3.SERVICE <http://127.0.0.1:9/> {} }",
    "SELECT * WHERE { ?s ?p ?o.SERVICE <http://127.0.0.1:9/> {} }",
    "SELECT * WHERE { ?s ?p 'x'@en.SERVICE <http://127.0.0.1:9/> {} }",
]
HARMLESS_LOOKALIKES = [
    "SELECT * WHERE { ?s ?p 'SERVICE' }",
    'SELECT * WHERE { ?s ?p """multi\nline SERVICE <http://x/> { } """ }',
    "SELECT * WHERE { ?s ?p <http://example.org/SERVICE> }",
    "SELECT ?service WHERE { ?service ?p ?o }",
    "PREFIX service: <http://x/> SELECT * WHERE { ?s service:SERVICE ?o }",
    "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://x/> { }",
    "SELECT * WHERE { ?s ?p 'it''s \\' SERVICE' }",
    "PREFIX e: <http://x/> SELECT * WHERE { ?s ?p e:a.SERVICE }",  # one prefixed name: dots inside are allowed
]


@pytest.mark.parametrize("query", SERVICE_QUERIES)
def test_service_is_refused_before_execution(query):
    inspection = inspect_query(query)
    assert inspection.refusal and "SERVICE" in inspection.refusal


@pytest.mark.parametrize("query", HARMLESS_LOOKALIKES)
def test_service_in_strings_iris_comments_variables_and_names_is_not_a_keyword(query):
    inspection = inspect_query(query)
    assert inspection.refusal is None
    assert inspection.form == "SELECT"


@pytest.mark.parametrize("query", [
    "INSERT DATA { <http://a> <http://b> <http://c> }",
    "PREFIX x: <http://x/> DELETE WHERE { ?s ?p ?o }",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "CLEAR ALL", "DROP GRAPH <http://g>", "CREATE GRAPH <http://g>",
    "WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "SELECT * WHERE {} ; INSERT DATA { <http://a> <http://b> <http://c> }",
])
def test_updates_are_refused(query):
    inspection = inspect_query(query)
    assert inspection.refusal and "read-only" in inspection.refusal


@pytest.mark.parametrize("query, form", [
    ("SELECT * {}", "SELECT"), ("ask {}", "ASK"), ("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
    ("BASE <http://x/> PREFIX a: <http://a/> DESCRIBE <y>", "DESCRIBE"),
    ("# just a comment\nPREFIX : <http://x/> SELECT * {}", "SELECT"),
    ("FOO BAR", None), ("", None),
])
def test_query_form_is_found_after_the_prologue(query, form):
    assert inspect_query(query).form == form


def test_bare_words_skip_literals_tags_and_numbers():
    words = [w.text for w in bare_words("SELECT ?x WHERE { ?x <p> 'lit'@en-GB, 12.5e3, true ; a _:b1 } LIMIT 3")]
    assert words == ["SELECT", "WHERE", "TRUE", "A", "LIMIT"]


def test_escapes_are_decoded_but_invalid_code_points_kept():
    assert decode_escapes("\\u0041\\U0001F600\\uD800") == "A\U0001F600\\uD800"


def test_service_after_a_number_is_refused_over_http_and_nothing_is_contacted(live_server):
    """The bypass of the old scan (it read ``1.SERVICE`` as one number): the endpoint must refuse it and the
    server it names must never see a connection."""
    import requests
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        answer = requests.get(live_server + "sparql", timeout=30, params={
            "query": f"SELECT * WHERE {{ ?s ?p 1.SERVICE <http://127.0.0.1:{port}/> {{ ?a ?b ?c }} }}"})
        assert answer.status_code == 400 and "SERVICE (federated query) is not allowed" in answer.text
        with pytest.raises(TimeoutError):
            listener.accept()[0].close()
    finally:
        listener.close()


def test_the_refusal_says_where_service_is():
    assert "line 2, column 3" in inspect_query("SELECT * {\n  SERVICE <http://x/> {} }").refusal


def test_query_processes_can_be_cut_off_from_the_network():
    """Defence in depth: in a child moved to a new network namespace, connecting to a listening local port fails."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: isolate, then try to connect, report by exit status
        status = 2
        try:
            if isolate_network():
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    status = 1
                except OSError:
                    status = 0
            else:
                status = 3
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    listener.close()
    os.close(read)
    os.close(write)
    code = os.waitstatus_to_exitcode(status)
    if code == 3:
        pytest.skip("this kernel does not let an unprivileged process create a network namespace")
    assert code == 0


# ---- result-size bounds (service.sparql.execute / service.sparql.formats) ----

def _tricky_store(rows: int) -> Store:
    """Literals full of the marks the size bounds count: commas, braces, newlines, dots, '<result>'."""
    store = Store()
    nasty = ['a,{b', ' .\n ; , ', '<result>', '{"x":1},{', 'line\nbreak\r\n', '"quoted" ,{}', '']
    for i in range(rows):
        subject = NamedNode(f"http://example.org/s{i}") if i % 3 else BlankNode(f"b{i}")
        store.add(Quad(subject, NamedNode("http://example.org/p"),
                       Literal(nasty[i % len(nasty)] + str(i), language="nl" if i % 2 else None)))
    return store


@pytest.mark.parametrize("fmt", SOLUTION_FORMATS, ids=lambda f: f.media_type)
def test_select_within_the_limit_is_answered_whole_and_above_it_refused(fmt):
    store = _tricky_store(40)
    query = "SELECT ?s ?o WHERE { ?s ?p ?o }"
    exact = execute(store, Job(query, fmt.media_type, None, None, max_results=40))
    assert exact.status == 200
    assert exact.body == store.query(query).serialize(format=fmt.oxigraph)
    refused = execute(store, Job(query, fmt.media_type, None, None, max_results=39))
    assert refused.status == 400
    assert b"more than 39 rows" in refused.body and b"LIMIT 39 OFFSET" in refused.body


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.media_type)
def test_construct_within_the_limit_is_answered_whole_and_above_it_refused(fmt):
    store = _tricky_store(30)
    query = "CONSTRUCT WHERE { ?s ?p ?o }"
    assert execute(store, Job(query, fmt.media_type, None, None, max_results=30)).status == 200
    refused = execute(store, Job(query, fmt.media_type, None, None, max_results=29))
    assert refused.status == 400 and b"more than 29 triples" in refused.body


def test_empty_rows_are_counted():
    store = Store()
    query = "SELECT ?x WHERE { VALUES ?x { UNDEF UNDEF UNDEF } }"
    assert execute(store, Job(query, "application/sparql-results+json", None, None, max_results=3)).status == 200
    assert execute(store, Job(query, "application/sparql-results+json", None, None, max_results=2)).status == 400


def test_syntax_error_names_the_position():
    answer = execute(Store(), Job("SELECT * WHERE { ?s ?p }", "application/sparql-results+json", None, None))
    assert answer.status == 400
    assert b"error at line 1, column" in answer.body and b"expected" in answer.body


@pytest.mark.parametrize("query, media_type", [
    ("SELECT ?s ?o WHERE { ?s ?p ?o }", "application/sparql-results+json"),
    ("CONSTRUCT WHERE { ?s ?p ?o }", "application/n-triples"),
])
def test_an_answer_over_the_byte_limit_is_refused_not_cut(query, media_type):
    """Few rows can still be many bytes (long literals): the answer is capped in bytes too."""
    store = _tricky_store(40)
    whole = execute(store, Job(query, media_type, None, None))
    assert whole.status == 200
    assert execute(store, Job(query, media_type, None, None, max_bytes=len(whole.body))).body == whole.body
    refused = execute(store, Job(query, media_type, None, None, max_bytes=len(whole.body) - 1))
    assert refused.status == 400 and b"larger than" in refused.body


def test_the_byte_limit_holds_when_the_row_bound_over_counted():
    """Literals full of commas and braces make the row bound trip before the exact count (400 rows, limit 400):
    the answer is then written again, and that second writing is capped in bytes too."""
    store = _tricky_store(400)
    query, media_type = "SELECT ?s ?o WHERE { ?s ?p ?o }", "application/sparql-results+json"
    whole = execute(store, Job(query, media_type, None, None, max_results=400))
    assert whole.status == 200
    refused = execute(store, Job(query, media_type, None, None, max_results=400, max_bytes=len(whole.body) - 1))
    assert refused.status == 400 and b"larger than" in refused.body
