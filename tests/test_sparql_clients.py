"""The endpoint with the clients integrators use, unmodified: SPARQLWrapper and rdflib's SPARQLStore."""
from __future__ import annotations

import csv
import io
import urllib.error
import xml.dom.minidom

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import CSV, GET, JSON, JSONLD, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

# rdflib 7.6 warns about its own ConjunctiveGraph/default_context while parsing; not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*ConjunctiveGraph.*:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*default_context.*:DeprecationWarning")]

SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
CKG = rdflib.Namespace("https://w3id.org/competency-kg/def#")
COMPETENCY = rdflib.URIRef("https://w3id.org/competency-kg/competency/klantgerichtheid")
LEVELS = f"""PREFIX skos: <{SKOS}> PREFIX ckg: <{CKG}>
SELECT ?level ?label WHERE {{ <{COMPETENCY}> ?has ?level . ?level a ckg:CompetencyLevel ;
  skos:prefLabel ?label . FILTER(lang(?label) = "en") }} ORDER BY ?label"""


def client(endpoint: str, query: str, fmt: str, method: str = GET, only_conneg: bool = False) -> SPARQLWrapper:
    wrapper = SPARQLWrapper(endpoint)
    wrapper.setQuery(query)
    wrapper.setReturnFormat(fmt)
    wrapper.setMethod(method)
    wrapper.setOnlyConneg(only_conneg)
    return wrapper


@pytest.fixture(scope="module")
def level_labels(sparql_endpoint) -> list[str]:
    """The five English level labels, as the JSON answer gives them (the reference for other formats)."""
    result = client(sparql_endpoint, LEVELS, JSON).queryAndConvert()
    found = [row["label"]["value"] for row in result["results"]["bindings"]]
    assert len(found) == 5 and all(label.startswith("Customer orientation, level") for label in found)
    return found


@pytest.mark.parametrize("method", [GET, POST])
@pytest.mark.parametrize("only_conneg", [False, True])
def test_select_json(sparql_endpoint, level_labels, method, only_conneg):
    result = client(sparql_endpoint, LEVELS, JSON, method, only_conneg).queryAndConvert()
    assert [row["label"]["value"] for row in result["results"]["bindings"]] == level_labels


@pytest.mark.parametrize("method", [GET, POST])
def test_select_xml(sparql_endpoint, level_labels, method):
    document = client(sparql_endpoint, LEVELS, XML, method).queryAndConvert()
    assert isinstance(document, xml.dom.minidom.Document)
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]
    assert literals == level_labels


@pytest.mark.parametrize("fmt, delimiter", [(CSV, ","), (TSV, "\t")])
@pytest.mark.parametrize("method", [GET, POST])
def test_select_csv_and_tsv(sparql_endpoint, level_labels, fmt, delimiter, method):
    text = client(sparql_endpoint, LEVELS, fmt, method).queryAndConvert().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    labels = [row[1] for row in rows[1:]]
    if fmt == TSV:  # TSV writes terms in Turtle syntax: "text"@en
        labels = [label.rsplit("@", 1)[0].strip('"') for label in labels]
    assert labels == level_labels


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_ask(sparql_endpoint, fmt):
    yes = client(sparql_endpoint, f"ASK {{ <{COMPETENCY}> a <{CKG.Competency}> }}", fmt)
    no = client(sparql_endpoint, f"ASK {{ <{COMPETENCY}> a <{SKOS.ConceptScheme}> }}", fmt)
    if fmt == JSON:
        assert yes.queryAndConvert()["boolean"] is True and no.queryAndConvert()["boolean"] is False
    else:
        assert yes.queryAndConvert().getElementsByTagName("boolean")[0].firstChild.data == "true"
        assert no.queryAndConvert().getElementsByTagName("boolean")[0].firstChild.data == "false"


@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, JSONLD, XML])
@pytest.mark.parametrize("form", ["CONSTRUCT", "DESCRIBE"])
@pytest.mark.parametrize("method", [GET, POST])
def test_graph_results(sparql_endpoint, fmt, form, method):
    query = (f"CONSTRUCT WHERE {{ <{COMPETENCY}> ?p ?o }}" if form == "CONSTRUCT" else f"DESCRIBE <{COMPETENCY}>")
    converted = client(sparql_endpoint, query, fmt, method).queryAndConvert()
    graph = converted if isinstance(converted, rdflib.Graph) else rdflib.Graph().parse(
        data=converted, format={TURTLE: "turtle", N3: "n3", JSONLD: "json-ld"}[fmt])
    assert (COMPETENCY, rdflib.RDF.type, CKG.Competency) in graph
    assert graph.value(COMPETENCY, SKOS.prefLabel) is not None


def test_n_triples_through_custom_accept(sparql_endpoint):
    wrapper = client(sparql_endpoint, f"DESCRIBE <{COMPETENCY}>", TURTLE, only_conneg=True)
    wrapper.addCustomHttpHeader("Accept", "application/n-triples")
    response = wrapper.query().response
    assert response.headers["Content-Type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=response.read(), format="nt")
    assert (COMPETENCY, rdflib.RDF.type, CKG.Competency) in graph


def test_bad_query_raises_querybadformed_with_the_message(sparql_endpoint):
    with pytest.raises(QueryBadFormed) as raised:
        client(sparql_endpoint, "SELECT * WHERE { ?s ?p ", JSON).queryAndConvert()
    assert "not valid SPARQL" in str(raised.value)


def test_update_through_sparqlwrapper_is_refused(sparql_endpoint):
    wrapper = SPARQLWrapper(sparql_endpoint, updateEndpoint=sparql_endpoint)
    wrapper.setMethod(POST)
    wrapper.setQuery(f'INSERT DATA {{ <{COMPETENCY}> <http://example.org/p> "x" }}')
    with pytest.raises(QueryBadFormed) as raised:
        wrapper.query()
    assert "read-only" in str(raised.value)


# ---- rdflib's SPARQLStore ----

@pytest.fixture(params=["GET", "POST"])
def remote_graph(sparql_endpoint, request) -> rdflib.Graph:
    return rdflib.Graph(store=SPARQLStore(sparql_endpoint, method=request.param, returnFormat="xml"))


def test_sparqlstore_select(remote_graph, level_labels):
    rows = remote_graph.query(LEVELS)
    assert [str(row.label) for row in rows] == level_labels


def test_sparqlstore_ask_and_construct(remote_graph):
    assert remote_graph.query(f"ASK {{ <{COMPETENCY}> ?p ?o }}").askAnswer is True
    result = remote_graph.query(f"CONSTRUCT WHERE {{ <{COMPETENCY}> ?p ?o }}")
    assert (COMPETENCY, rdflib.RDF.type, CKG.Competency) in result.graph


def test_sparqlstore_graph_api(remote_graph):
    """The plain Graph API over the endpoint: triple patterns, value lookups and the size."""
    competencies = set(remote_graph.subjects(rdflib.RDF.type, CKG.Competency))
    assert competencies == {COMPETENCY}
    assert remote_graph.value(COMPETENCY, SKOS.prefLabel) is not None
    assert len(remote_graph) > 100


def test_sparqlstore_json_results(sparql_endpoint, level_labels):
    graph = rdflib.Graph(store=SPARQLStore(sparql_endpoint, returnFormat="json"))
    assert [str(row.label) for row in graph.query(LEVELS)] == level_labels


def test_sparqlupdatestore_cannot_change_anything(sparql_endpoint):
    store = SPARQLUpdateStore(sparql_endpoint, sparql_endpoint)
    size = len(rdflib.Graph(store=SPARQLStore(sparql_endpoint)))
    with pytest.raises(urllib.error.HTTPError) as raised:
        store.update(f'INSERT DATA {{ <{COMPETENCY}> <http://example.org/p> "x" }}')
    assert raised.value.code == 400 and b"read-only" in raised.value.read()
    assert len(rdflib.Graph(store=SPARQLStore(sparql_endpoint))) == size
