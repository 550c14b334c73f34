"""The SPARQL 1.1 Service Description of the endpoint (W3C), answered to a GET without a query.

It tells a client, in RDF, where the endpoint is, that it speaks SPARQL 1.1 Query (and not Update),
which result formats it writes, and what its default dataset holds.
"""
from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from .formats import ResultFormat

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
RDFS_SEE_ALSO = NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso")
VOID_TRIPLES = NamedNode("http://rdfs.org/ns/void#triples")
XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")

FORMAT_IRIS = {
    "application/sparql-results+json": "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
    "application/sparql-results+xml": "http://www.w3.org/ns/formats/SPARQL_Results_XML",
    "text/csv": "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
    "text/tab-separated-values": "http://www.w3.org/ns/formats/SPARQL_Results_TSV",
    "text/turtle": "http://www.w3.org/ns/formats/Turtle",
    "application/n-triples": "http://www.w3.org/ns/formats/N-Triples",
    "application/ld+json": "http://www.w3.org/ns/formats/JSON-LD",
    "application/rdf+xml": "http://www.w3.org/ns/formats/RDF_XML",
    "application/n-quads": "http://www.w3.org/ns/formats/N-Quads",
    "application/trig": "http://www.w3.org/ns/formats/TriG",
}
"""The W3C's unique IRIs for file formats (https://www.w3.org/ns/formats/)."""


def _sd(name: str) -> NamedNode:
    return NamedNode(SD + name)


def description_triples(endpoints: list[str], dataset_iri: str, triple_count: int,
                        formats: list[ResultFormat]) -> list[Triple]:
    """The description: the service at each of ``endpoints`` (the URL asked and the canonical IRI)."""
    service, dataset, graph = BlankNode("service"), BlankNode("dataset"), BlankNode("defaultGraph")
    triples = [Triple(service, RDF_TYPE, _sd("Service")),
               Triple(service, RDFS_LABEL, Literal("SPARQL 1.1 query endpoint of the competency catalogue", language="en")),
               Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
               Triple(service, _sd("defaultEntailmentRegime"), NamedNode("http://www.w3.org/ns/entailment/Simple")),
               Triple(service, _sd("defaultDataset"), dataset),
               Triple(dataset, RDF_TYPE, _sd("Dataset")),
               Triple(dataset, RDFS_SEE_ALSO, NamedNode(dataset_iri)),
               Triple(dataset, _sd("defaultGraph"), graph),
               Triple(graph, RDF_TYPE, _sd("Graph")),
               Triple(graph, VOID_TRIPLES, Literal(str(triple_count), datatype=XSD_INTEGER))]
    triples += [Triple(service, _sd("endpoint"), NamedNode(url)) for url in dict.fromkeys(endpoints)]
    triples += [Triple(service, _sd("resultFormat"), NamedNode(FORMAT_IRIS[f.media_type]))
                for f in formats if f.media_type in FORMAT_IRIS]
    return triples


def render_description(triples: list[Triple], fmt: ResultFormat) -> bytes:
    """The description written in ``fmt`` (an RDF format)."""
    assert isinstance(fmt.oxigraph, RdfFormat)
    prefixes = {"sd": SD, "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "void": "http://rdfs.org/ns/void#"}
    if fmt.oxigraph in (RdfFormat.TURTLE, RdfFormat.TRIG, RdfFormat.RDF_XML):
        return serialize(triples, format=fmt.oxigraph, prefixes=prefixes)
    return serialize(triples, format=fmt.oxigraph)
