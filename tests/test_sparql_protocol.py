"""The SPARQL 1.1 Protocol rules, driven with plain HTTP against the real server (gunicorn).

Every test runs three times: against the embedded store, and with ``--store`` in front of Oxigraph
server and of Virtuoso (``sparql_endpoint`` from :mod:`store_support`): the contract is the same."""
from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
from typing import Iterator
from urllib.parse import quote

import pyoxigraph
import pytest
import rdflib
import requests

from store_support import mode_server, modes, sparql_endpoint  # noqa: F401 - every test in each mode

# rdflib 7.6 warns about its own ConjunctiveGraph/default_context while parsing; not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*ConjunctiveGraph.*:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*default_context.*:DeprecationWarning")]

SKOS = "http://www.w3.org/2004/02/skos/core#"
CKG = "https://w3id.org/competency-kg/def#"
BASE = "https://w3id.org/competency-kg/"
LABELS = f"""PREFIX skos: <{SKOS}> PREFIX ckg: <{CKG}>
SELECT ?c ?label WHERE {{ ?c a ckg:Competency ; skos:prefLabel ?label }} ORDER BY ?label"""
COMPETENCY = f"{BASE}competency/klantgerichtheid"
SRJ = "application/sparql-results+json"


def labels(answer: requests.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["label"]["value"] for row in answer.json()["results"]["bindings"]]


# ---- the three ways to send a query ----

def test_get(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params={"query": LABELS})
    assert answer.headers["Content-Type"].startswith(SRJ)
    assert labels(answer) == ["Customer orientation", "Klantgerichtheid"]


def test_post_form(sparql_endpoint):
    answer = requests.post(sparql_endpoint, data={"query": LABELS})
    assert labels(answer) == ["Customer orientation", "Klantgerichtheid"]


@pytest.mark.parametrize("content_type", ["application/sparql-query", "application/sparql-query; charset=utf-8",
                                          "Application/SPARQL-Query;charset=UTF-8"])
def test_post_direct(sparql_endpoint, content_type):
    answer = requests.post(sparql_endpoint, data=LABELS.encode("utf-8"), headers={"Content-Type": content_type})
    assert labels(answer) == ["Customer orientation", "Klantgerichtheid"]


@pytest.mark.parametrize("charset", ["iso-8859-1", "cp1252", "utf-16", "UTF-16", "utf-32"])
def test_post_direct_in_another_text_encoding_is_415(sparql_endpoint, charset):
    """W3C protocol test bad_query_non_utf8. The application/sparql-query media type (SPARQL 1.1 Query,
    appendix C) says its encoding is always UTF-8: a body declared otherwise is refused, saying so."""
    body = 'SELECT ?x WHERE { BIND("Zoë\'s café" AS ?x) }'.encode(charset)
    answer = requests.post(sparql_endpoint, data=body,
                           headers={"Content-Type": f"application/sparql-query; charset={charset}"})
    assert answer.status_code == 415 and "UTF-8 only" in answer.text


@pytest.mark.parametrize("charset", ["hex", "uu", "bz2", "base64", "zlib", "rot13", "rot_13", "quopri"])
def test_a_charset_that_is_no_text_encoding_is_415(sparql_endpoint, charset):
    """Python can 'decode' with these codecs, but not into text (they gave 500 before)."""
    answer = requests.post(sparql_endpoint, data=b"ASK {}",
                           headers={"Content-Type": f"application/sparql-query; charset={charset}"})
    assert answer.status_code == 415 and "not a text encoding" in answer.text


@pytest.mark.parametrize("charset", ["punycode", "idna", "utf-7", "x-klingon", "utf-8-sig", "unicode_escape"])
def test_any_other_charset_is_a_4xx_with_a_message(sparql_endpoint, charset):
    answer = requests.post(sparql_endpoint, data=b"ASK { \xff }",
                           headers={"Content-Type": f"application/sparql-query; charset={charset}"})
    assert answer.status_code == 415 and "UTF-8" in answer.text


@pytest.mark.parametrize("charset", ["ascii", "US-ASCII", "utf8", "UTF-8"])
def test_utf8_and_its_ascii_subset_are_accepted(sparql_endpoint, charset):
    answer = requests.post(sparql_endpoint, data=b"ASK { }",
                           headers={"Content-Type": f"application/sparql-query; charset={charset}"})
    assert answer.status_code == 200 and answer.json()["boolean"] is True


def test_non_ascii_query_round_trips(sparql_endpoint):
    query = 'SELECT ?x WHERE { BIND("Zoë — ✓ 😀" AS ?x) }'
    for answer in (requests.get(sparql_endpoint, params={"query": query}),
                   requests.post(sparql_endpoint, data={"query": query}),
                   requests.post(sparql_endpoint, data=query.encode(), headers={"Content-Type": "application/sparql-query"})):
        assert answer.json()["results"]["bindings"][0]["x"]["value"] == "Zoë — ✓ 😀"


def test_long_queries_by_get_and_post(sparql_endpoint):
    values = " ".join(f'"value number {i}"' for i in range(200))  # about 4 KB of query, 5.7 KB encoded
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?v {{ {values} }} }}"
    assert len(quote(query)) > 5000  # beyond gunicorn's default 4 KB request line
    for answer in (requests.get(sparql_endpoint, params={"query": query}),
                   requests.post(sparql_endpoint, data={"query": query + " " * 100_000})):
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"]["bindings"][0]["n"]["value"] == "200"


G1, G2, P = "http://example.org/g1", "http://example.org/g2", "http://example.org/p"


@pytest.fixture(scope="module")
def two_graph_endpoint(tmp_path_factory) -> Iterator[str]:
    """A server whose store holds two named graphs beside the catalogue, each with its own answer.

    Loaded the way the service loads an ESCO import ($CKG_ESCO names an N-Quads file), so the dataset
    parameters are tested against graphs whose answers differ when the parameters are ignored.
    """
    from conftest import start_server
    quads = tmp_path_factory.mktemp("dataset") / "two-graphs.nq"
    quads.write_text(f'<http://example.org/s1> <{P}> "one" <{G1}> .\n'
                     f'<http://example.org/s2> <{P}> "two" <{G2}> .\n')
    with start_server("--workers", "1", env={"CKG_ESCO": str(quads)}) as url:
        yield url + "sparql"


def _values(answer, var: str) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(b[var]["value"] for b in answer.json()["results"]["bindings"])


def test_the_two_graphs_answer_differently(two_graph_endpoint):
    query = f"SELECT ?g ?o WHERE {{ GRAPH ?g {{ ?s <{P}> ?o }} }}"
    assert _values(requests.get(two_graph_endpoint, params={"query": query}), "o") == ["one", "two"]


def test_default_graph_uri_overrides_from(two_graph_endpoint):
    query = f"SELECT ?o FROM <{G1}> WHERE {{ ?s <{P}> ?o }}"
    assert _values(requests.get(two_graph_endpoint, params={"query": query}), "o") == ["one"]
    answer = requests.get(two_graph_endpoint, params={"query": query, "default-graph-uri": G2})
    assert _values(answer, "o") == ["two"]
    both = requests.post(two_graph_endpoint + "?default-graph-uri=" + quote(G1, safe="") + "&default-graph-uri="
                         + quote(G2, safe=""), data=f"SELECT ?o WHERE {{ ?s <{P}> ?o }}",
                         headers={"Content-Type": "application/sparql-query"})
    assert _values(both, "o") == ["one", "two"]


def test_named_graph_uri_sets_the_named_graphs(two_graph_endpoint):
    query = f"SELECT ?g ?o FROM NAMED <{G2}> WHERE {{ GRAPH ?g {{ ?s <{P}> ?o }} }}"
    assert _values(requests.get(two_graph_endpoint, params={"query": query}), "g") == [G2]
    for answer in (requests.get(two_graph_endpoint, params={"query": query, "named-graph-uri": G1}),
                   requests.post(two_graph_endpoint, data={"query": query, "named-graph-uri": G1})):
        assert _values(answer, "g") == [G1]
        assert _values(answer, "o") == ["one"]


def test_relative_iris_resolve_against_the_base(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params={"query": "ASK { <competency/klantgerichtheid> ?p ?o }"})
    assert answer.json()["boolean"] is True


# ---- one query per request ----

def test_two_query_parameters_are_refused(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert answer.status_code == 400 and "exactly one" in answer.text


def test_query_in_both_url_and_body_is_refused(sparql_endpoint):
    answer = requests.post(sparql_endpoint + "?query=ASK%7B%7D", data="ASK {}",
                           headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 400 and "exactly one" in answer.text


def test_form_without_query_is_refused(sparql_endpoint):
    answer = requests.post(sparql_endpoint, data={"default-graph-uri": "http://example.org/g"})
    assert answer.status_code == 400 and "'query'" in answer.text


def test_empty_query_is_refused(sparql_endpoint):
    assert requests.get(sparql_endpoint, params={"query": "  "}).status_code == 400


# ---- errors ----

def test_malformed_query_gives_the_parser_message_and_position(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params={"query": "SELECT * WHERE {\n  ?s ?p \n}"})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "not valid SPARQL" in answer.text and "line 3, column" in answer.text and "expected" in answer.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/sparql-query-typo"])
def test_wrong_media_type_is_415(sparql_endpoint, content_type):
    answer = requests.post(sparql_endpoint, data=b"ASK {}", headers={"Content-Type": content_type})
    assert answer.status_code == 415
    assert "application/sparql-query" in answer.text and "application/x-www-form-urlencoded" in answer.text


def test_missing_media_type_is_415(sparql_endpoint):
    request = requests.Request("POST", sparql_endpoint, data=b"ASK {}").prepare()
    request.headers.pop("Content-Type", None)
    answer = requests.Session().send(request)
    assert answer.status_code == 415 and "no Content-Type" in answer.text


def test_unknown_charset_is_415(sparql_endpoint):
    answer = requests.post(sparql_endpoint, data=b"ASK {}",
                           headers={"Content-Type": "application/sparql-query; charset=klingon"})
    assert answer.status_code == 415


@pytest.mark.parametrize("how", ["get", "form", "direct"])
def test_non_utf8_is_400(sparql_endpoint, how):
    latin1 = quote("ASK { ?s ?p 'caf\xe9' }".encode("latin-1"))
    if how == "get":
        answer = requests.get(sparql_endpoint + "?query=" + latin1)
    elif how == "form":
        answer = requests.post(sparql_endpoint, data="query=" + latin1,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        answer = requests.post(sparql_endpoint, data="ASK { ?s ?p 'caf\xe9' }".encode("latin-1"),
                               headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 400 and "UTF-8" in answer.text


def test_put_is_not_allowed(sparql_endpoint):
    assert requests.put(sparql_endpoint, data="ASK {}").status_code == 405


# ---- updates are refused and change nothing ----

def _count(endpoint: str) -> int:
    """The number of triples as the store holds it now: a comment unique to this call makes a query the
    answer cache has never seen (the header proves it), so a change would show."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }} # {uuid.uuid4()}"
    answer = requests.get(endpoint, params={"query": query})
    assert answer.headers["X-Cache"] == "miss"
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize("send", ["get", "form", "direct", "update-form", "update-direct"])
def test_insert_data_is_refused_and_the_data_unchanged(sparql_endpoint, send):
    before = _count(sparql_endpoint)
    update = f'INSERT DATA {{ <{COMPETENCY}> <http://example.org/p> "injected" }}'
    if send == "get":
        answer = requests.get(sparql_endpoint, params={"query": update})
    elif send == "form":
        answer = requests.post(sparql_endpoint, data={"query": update})
    elif send == "direct":
        answer = requests.post(sparql_endpoint, data=update, headers={"Content-Type": "application/sparql-query"})
    elif send == "update-form":
        answer = requests.post(sparql_endpoint, data={"update": update})
    else:
        answer = requests.post(sparql_endpoint, data=update, headers={"Content-Type": "application/sparql-update"})
    assert 400 <= answer.status_code < 500
    assert "read-only" in answer.text
    assert _count(sparql_endpoint) == before
    ask = requests.get(sparql_endpoint, params={"query": f'ASK {{ ?s ?p "injected" }} # {uuid.uuid4()}'})
    assert ask.headers["X-Cache"] == "miss" and ask.json()["boolean"] is False


@pytest.mark.parametrize("update", ["DELETE WHERE { ?s ?p ?o }", "CLEAR DEFAULT", "DROP ALL",
                                    "LOAD <http://127.0.0.1:9/x.ttl>", "CREATE GRAPH <http://example.org/g>"])
def test_other_updates_are_refused(sparql_endpoint, update):
    before = _count(sparql_endpoint)
    answer = requests.post(sparql_endpoint, data={"query": update})
    assert answer.status_code == 400 and "read-only" in answer.text
    assert _count(sparql_endpoint) == before


# ---- negotiation of result formats ----

SELECT_TYPES = {
    "application/sparql-results+json": lambda body: json.loads(body)["results"]["bindings"],
    "application/sparql-results+xml": lambda body: ET.fromstring(body).findall(
        ".//{http://www.w3.org/2005/sparql-results#}result"),
    "text/csv": lambda body: list(csv.reader(io.StringIO(body.decode())))[1:],
    "text/tab-separated-values": lambda body: body.decode().splitlines()[1:],
}


@pytest.mark.parametrize("media_type", SELECT_TYPES)
def test_select_in_each_format_by_accept(sparql_endpoint, media_type):
    answer = requests.get(sparql_endpoint, params={"query": LABELS}, headers={"Accept": media_type})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == media_type
    assert len(SELECT_TYPES[media_type](answer.content)) == 2
    assert "Accept" in answer.headers["Vary"]


@pytest.mark.parametrize("name, media_type", [("json", "application/sparql-results+json"),
                                              ("xml", "application/sparql-results+xml"),
                                              ("csv", "text/csv"), ("tsv", "text/tab-separated-values"),
                                              ("text/csv", "text/csv")])
def test_format_parameter_wins_over_accept(sparql_endpoint, name, media_type):
    answer = requests.get(sparql_endpoint, params={"query": LABELS, "format": name},
                          headers={"Accept": "application/sparql-results+xml;q=0.1"})
    assert answer.headers["Content-Type"].split(";")[0] == media_type


GRAPH_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld",
               "application/rdf+xml": "xml", "application/n-quads": "nquads", "application/trig": "trig"}


@pytest.mark.parametrize("media_type", GRAPH_TYPES)
@pytest.mark.parametrize("query", [f"CONSTRUCT WHERE {{ <{COMPETENCY}> ?p ?o }}", f"DESCRIBE <{COMPETENCY}>"])
def test_graph_results_in_each_format_are_the_same_graph(sparql_endpoint, media_type, query):
    reference = rdflib.Graph().parse(data=requests.get(sparql_endpoint, params={"query": query},
                                                       headers={"Accept": "application/n-triples"}).text, format="nt")
    assert len(reference) > 5
    answer = requests.get(sparql_endpoint, params={"query": query}, headers={"Accept": media_type})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].split(";")[0] == media_type
    if GRAPH_TYPES[media_type] in ("nquads", "trig"):  # quads of the default graph: compare as N-Triples lines
        quads = pyoxigraph.parse(answer.content, format=pyoxigraph.RdfFormat.from_media_type(media_type))
        lines = "".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in quads)
        triples = set(rdflib.Graph().parse(data=lines, format="nt"))
    else:
        triples = set(rdflib.Graph().parse(data=answer.content, format=GRAPH_TYPES[media_type]))
    assert triples == set(reference)


def test_no_accept_gives_json_for_select_and_turtle_for_graphs(sparql_endpoint):
    session = requests.Session()
    session.headers.pop("Accept", None)
    request = requests.Request("GET", sparql_endpoint, params={"query": "ASK {}"}).prepare()
    request.headers.pop("Accept", None)
    assert session.send(request).headers["Content-Type"].startswith(SRJ)
    request = requests.Request("GET", sparql_endpoint, params={"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"}).prepare()
    request.headers.pop("Accept", None)
    assert session.send(request).headers["Content-Type"].startswith("text/turtle")


@pytest.mark.parametrize("accept, expected", [
    ("*/*", SRJ),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/sparql-results+xml"),
    ("text/csv;q=0.5, text/tab-separated-values;q=0.9", "text/tab-separated-values"),
    ("text/*", "text/csv"),
    ("application/json", SRJ),
    ("application/sparql-results+xml, application/sparql-results+json", SRJ),
    ("application/sparql-results+json;q=0, */*;q=0.1", "application/sparql-results+xml"),
])
def test_accept_q_values_wildcards_and_lists(sparql_endpoint, accept, expected):
    answer = requests.get(sparql_endpoint, params={"query": LABELS}, headers={"Accept": accept})
    assert answer.headers["Content-Type"].split(";")[0] == expected


@pytest.mark.parametrize("accept, expected", [("application/*", "application/n-triples"),
                                              ("text/html, */*;q=0.5", "text/turtle"),
                                              ("application/json", "application/ld+json"),
                                              ("text/plain", "application/n-triples")])
def test_accept_for_graphs(sparql_endpoint, accept, expected):
    answer = requests.get(sparql_endpoint, params={"query": f"DESCRIBE <{COMPETENCY}>"}, headers={"Accept": accept})
    assert answer.headers["Content-Type"].split(";")[0] == expected


def test_unsupported_accept_is_406_listing_the_offer(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params={"query": LABELS}, headers={"Accept": "text/html"})
    assert answer.status_code == 406
    for media_type in SELECT_TYPES:
        assert media_type in answer.text
    answer = requests.get(sparql_endpoint, params={"query": f"DESCRIBE <{COMPETENCY}>"},
                          headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 406 and "text/turtle" in answer.text


def test_unknown_format_parameter_is_406(sparql_endpoint):
    answer = requests.get(sparql_endpoint, params={"query": LABELS, "format": "yaml"})
    assert answer.status_code == 406 and "format=json" in answer.text


# ---- service description, CORS, HEAD ----

SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")


@pytest.mark.parametrize("accept, fmt", [(None, "turtle"), ("application/ld+json", "json-ld"),
                                         ("application/rdf+xml", "xml"), ("application/n-triples", "nt")])
def test_get_without_query_is_the_service_description(sparql_endpoint, accept, fmt):
    answer = requests.get(sparql_endpoint, headers={"Accept": accept} if accept else {})
    assert answer.status_code == 200
    description = rdflib.Graph().parse(data=answer.content, format=fmt)
    service = description.value(predicate=rdflib.RDF.type, object=SD.Service)
    assert service is not None
    endpoints = set(description.objects(service, SD.endpoint))
    # Only the configured IRI: the URL the client used comes from its Host header, which a client may forge.
    assert endpoints == {rdflib.URIRef(BASE + "sparql")}
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in description
    formats = set(description.objects(service, SD.resultFormat))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    assert rdflib.URIRef("http://www.w3.org/ns/formats/Turtle") in formats
    dataset = description.value(service, SD.defaultDataset)
    assert description.value(dataset, SD.defaultGraph) is not None


def test_service_description_406(sparql_endpoint):
    assert requests.get(sparql_endpoint, headers={"Accept": "image/png"}).status_code == 406


def test_cors_on_answers_and_errors(sparql_endpoint):
    ok = requests.get(sparql_endpoint, params={"query": "ASK {}"}, headers={"Origin": "https://example.org"})
    bad = requests.get(sparql_endpoint, params={"query": "ASK {"}, headers={"Origin": "https://example.org"})
    assert ok.headers["Access-Control-Allow-Origin"] == "*"
    assert bad.status_code == 400 and bad.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_preflight(sparql_endpoint):
    answer = requests.options(sparql_endpoint, headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, accept"})
    assert answer.status_code in (200, 204)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert {"GET", "POST", "OPTIONS"} <= {m.strip() for m in answer.headers["Access-Control-Allow-Methods"].split(",")}
    assert "content-type" in answer.headers["Access-Control-Allow-Headers"].lower()


@pytest.mark.parametrize("params", [{"query": LABELS}, {}])
def test_head_is_get_without_body(sparql_endpoint, params):
    get = requests.get(sparql_endpoint, params=params)
    head = requests.head(sparql_endpoint, params=params)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_oversized_body_is_413(sparql_endpoint):
    answer = requests.post(sparql_endpoint, data=b"ASK {} " + b" " * 1_100_000,
                           headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code == 413 and "1,000,000" in answer.text
