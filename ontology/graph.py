"""The built catalogue graph: its triples in a fixed order, and views of them for each consumer.

The triples are kept grouped (the shared nodes, then one part per competency) because that is
how they are checked in parallel and how they are written: each part sorted, parts in slug order,
so the same catalogue always gives the same bytes and a release diff reads competency by competency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Iterator, NamedTuple

import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store, Triple

from .iris import Iris
from .model import Source
from .namespaces import RDF

_TYPE = RDF + "type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class Statement(NamedTuple):
    """One triple as a plain tuple of Oxigraph terms; reading its parts costs no conversion."""

    subject: NamedNode | BlankNode
    predicate: NamedNode
    object: NamedNode | BlankNode | Literal


def _order(triple: Statement) -> tuple[str, bool, str, str]:
    """Subject, then rdf:type before other predicates, then predicate and object as written."""
    predicate = triple.predicate.value
    return triple.subject.value, predicate != _TYPE, predicate, str(triple.object)


@dataclass(frozen=True)
class CatalogueGraph:
    """The immutable result of a build (``GraphBuilder.graph``); every export and the service read only this."""

    iris: Iris
    shared: list[Statement]
    parts: list[list[Statement]]
    sources: dict[str, Source] = field(default_factory=dict)
    mappings: list[Statement] = field(default_factory=list)
    """The mapping sets, their records and the linked concepts' labels: one group, written last.

    (The SKOS links themselves sit in the part of the competency they start from.) Kept apart so
    the SSSOM writer reads a few hundred statements instead of searching millions.
    """

    def __len__(self) -> int:
        return len(self.shared) + sum(len(part) for part in self.parts) + len(self.mappings)

    def statements(self) -> Iterator[Statement]:
        """Every statement, in no particular order (the cheapest way to visit them all)."""
        return chain(self.shared, *self.parts, self.mappings)

    def triples(self) -> Iterator[Triple]:
        """Every triple, in the canonical order that exports write."""
        return (Triple(*s) for group in self.ordered_groups for s in group)

    @cached_property
    def ordered_groups(self) -> list[list[Statement]]:
        """The shared statements, each competency's, then the mappings', each group sorted; computed once per graph."""
        return [sorted(group, key=_order) for group in (self.shared, *self.parts, self.mappings)]

    def sort_before_forking(self) -> list[list[Statement]]:
        """Compute ``ordered_groups`` now, in this process, and return it.

        Children forked afterwards inherit the sorted lists; forked before, each child would sort
        its own copy (seconds on a large graph) and the parent would sort once more.
        """
        return self.ordered_groups

    def store(self) -> Store:
        """A fresh in-memory Oxigraph store holding the graph in its default graph (for SPARQL)."""
        store = Store()
        store.bulk_extend(Quad(*s) for s in self.statements())
        return store

    def source_of(self, iri: str) -> Source | None:
        """Where in the YAML the resource ``iri`` (or its nearest ancestor IRI) is written."""
        while iri:
            if iri in self.sources:
                return self.sources[iri]
            iri = iri.rpartition("/")[0]
        return None


def to_rdflib_term(term: NamedNode | BlankNode | Literal) -> rdflib.term.Identifier:
    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    if term.datatype.value == _XSD_STRING:  # RDF 1.1: a plain literal *is* an xsd:string; rdflib keeps them apart
        return rdflib.Literal(term.value)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def to_rdflib_memory(triples: Iterator[Statement | Triple]) -> rdflib.Graph:
    """A plain in-memory rdflib graph of ``triples``, the kind of graph pyshacl works best on."""
    graph = rdflib.Graph()
    for t in triples:
        graph.add((to_rdflib_term(t.subject), to_rdflib_term(t.predicate), to_rdflib_term(t.object)))
    return graph
