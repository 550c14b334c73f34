"""RDF dumps written by Oxigraph from the graph's canonical order (fast and byte-stable)."""
from __future__ import annotations

from typing import BinaryIO

from pyoxigraph import QuadParser, RdfFormat, parse, serialize

from ontology.graph import CatalogueGraph
from ontology.namespaces import PREFIXES

FORMATS: dict[str, RdfFormat] = {
    "ttl": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "rdf": RdfFormat.RDF_XML,
}


def write_rdf(graph: CatalogueGraph, out: BinaryIO, extension: str) -> None:
    """Write ``graph`` as Turtle, N-Triples or RDF/XML, with full IRIs and the usual prefixes.

    No @base: Oxigraph would relativise the prefix IRIs too (``schema: <//schema.org/>``), which
    is valid but baffles readers.
    """
    rdf_format = FORMATS[extension]
    prefixes = PREFIXES if rdf_format != RdfFormat.N_TRIPLES else None
    serialize(graph.triples(), out, rdf_format, prefixes=prefixes)


def count_triples(path: str, extension: str) -> int:
    """Parse a written dump back and count its triples: proof that the file is readable RDF."""
    parser: QuadParser = parse(path=path, format=FORMATS[extension])
    return sum(1 for _ in parser)
