"""RDF dumps in the graph's canonical order, byte-stable: Turtle and RDF/XML by Oxigraph, N-Triples directly."""
from __future__ import annotations

from typing import BinaryIO, Iterable

from pyoxigraph import RdfFormat, serialize

from ontology.graph import CatalogueGraph, Statement
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
    if rdf_format == RdfFormat.N_TRIPLES:
        write_ntriples(graph.ordered_groups, out)
        return
    serialize(graph.triples(), out, rdf_format, prefixes=PREFIXES)


def write_ntriples(groups: Iterable[Iterable[Statement]], out: BinaryIO) -> None:
    """N-Triples straight from the statements, one line per statement, in the order given.

    An Oxigraph term's ``str`` is its N-Triples form (the same code writes both), so the bytes are
    Oxigraph's own (a test holds them equal, escapes included) without first making a ``Triple``
    object per statement, which costs more than the writing itself on millions of them.
    """
    for group in groups:
        out.write("".join([f"{s} {p} {o} .\n" for s, p, o in group]).encode("utf-8"))

