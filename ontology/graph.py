"""The built catalogue graph: its triples in a fixed order, and views of them for each consumer.

The triples are kept grouped (the shared nodes, then one part per competency) because that is
how they are checked in parallel and how they are written: each part sorted, parts in slug order,
so the same catalogue always gives the same bytes and a release diff reads competency by competency.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Iterator

import rdflib
from oxrdflib import OxigraphStore
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store, Triple

from .iris import Iris
from .model import Source
from .namespaces import RDF

_TYPE = RDF + "type"


def _order(triple: Triple) -> tuple[str, bool, str, str]:
    """Subject, then rdf:type before other predicates, then predicate and object as written."""
    predicate = triple.predicate.value
    return triple.subject.value, predicate != _TYPE, predicate, str(triple.object)


@dataclass
class CatalogueGraph:
    """The immutable result of a build; every export and the service read only this."""

    iris: Iris
    shared: list[Triple]
    parts: list[list[Triple]]
    sources: dict[str, Source] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.shared) + sum(len(part) for part in self.parts)

    def triples(self) -> Iterator[Triple]:
        """Every triple, in the canonical order that exports write."""
        return chain(self.sorted_shared, *(sorted(part, key=_order) for part in self.parts))

    @cached_property
    def sorted_shared(self) -> list[Triple]:
        return sorted(self.shared, key=_order)

    def store(self) -> Store:
        """A fresh in-memory Oxigraph store holding the graph in its default graph (for SPARQL)."""
        store = Store()
        store.bulk_extend(Quad(t.subject, t.predicate, t.object) for t in chain(self.shared, *self.parts))
        return store

    def rdflib(self) -> rdflib.Graph:
        """The graph behind rdflib's API, stored in Oxigraph so queries and counts stay fast."""
        return rdflib.Graph(store=OxigraphStore(store=self.store()))

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
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def to_rdflib_memory(triples: Iterator[Triple] | list[Triple]) -> rdflib.Graph:
    """A plain in-memory rdflib graph of ``triples``, the kind of graph pyshacl works best on."""
    graph = rdflib.Graph()
    for t in triples:
        graph.add((to_rdflib_term(t.subject), to_rdflib_term(t.predicate), to_rdflib_term(t.object)))
    return graph
