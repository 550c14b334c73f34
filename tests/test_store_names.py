"""The names of what a resource links to, as ``ckg serve --store`` reads them (``StoreCatalogue._linked_names``):
asked by IRI after the resource's own triples, with the names of classes kept for the life of the site.

The answers themselves are compared with embedded mode, byte for byte, against real engines in
tests/test_store_serve.py; but the bundled catalogue never names a class, so the cache of class names
is tried here, on a graph that does, with the catalogue's queries run by pyoxigraph in memory."""
from __future__ import annotations

import pytest
from pyoxigraph import Literal, NamedNode, Quad, Store

from catalog import CATALOG_DIR
from ontology.build import build_graph
from ontology.loader import load_catalogue
from ontology.namespaces import CKG, RDF, RDFS
from service import store_catalogue
from service.store_catalogue import StoreCatalogue

CLASS_LABEL = (NamedNode(CKG + "BehaviouralCriterion"), NamedNode(RDFS + "label"), Literal("Gedragscriterium", language="nl"))


class MemoryEngine:
    """What StoreCatalogue asks of ``service.engine.Engine``, answered by an in-memory store; every query kept."""

    graph = None

    def __init__(self, triples):
        self.store = Store()
        self.store.extend(Quad(*t) for t in triples)
        self.queries: list[str] = []

    def construct(self, query: str, *, lenient: bool = True) -> list:
        self.queries.append(query)
        return list(self.store.query(query))

    def iris(self, query: str, name: str) -> list[str]:
        self.queries.append(query)
        return [row[name].value for row in self.store.query(query) if isinstance(row[name], NamedNode)]


@pytest.fixture(scope="module")
def graph():
    built = build_graph(load_catalogue(CATALOG_DIR))
    return built, [tuple(t) for t in built.statements()] + [CLASS_LABEL]


def _criteria(built) -> list[str]:
    return sorted(s.subject.value for s in built.statements()
                  if s.predicate.value == RDF + "type" and s.object.value == CKG + "BehaviouralCriterion")


def test_a_class_is_named_once_then_from_memory(graph) -> None:
    built, triples = graph
    engine = MemoryEngine(triples)
    catalogue = StoreCatalogue(engine, built.iris.base)
    first, second = _criteria(built)[:2]
    catalogue.mapped()  # read once, at the first description
    asked = len(engine.queries)
    described = catalogue.resource(first)
    assert described is not None and described.kind == "criterion"
    assert any(tuple(t) == CLASS_LABEL for t in described.fetched), "the class's name was not read"
    assert len(engine.queries) - asked == 2  # its own triples, then the names of what it links to

    asked = len(engine.queries)
    again = catalogue.resource(second)
    assert any(tuple(t) == CLASS_LABEL for t in again.fetched), "the kept name was not given to the next answer"
    assert len(engine.queries) - asked == 1, "a criterion links only to its classes: no second query once they are known"


def test_what_is_not_a_class_is_asked_every_time(graph) -> None:
    built, triples = graph
    engine = MemoryEngine(triples)
    catalogue = StoreCatalogue(engine, built.iris.base)
    competency = next(s.subject.value for s in built.statements()
                      if s.predicate.value == RDF + "type" and s.object.value == CKG + "Competency")
    catalogue.mapped()
    for _ in range(2):
        asked = len(engine.queries)
        described = catalogue.resource(competency)
        names = engine.queries[-1]
        assert len(engine.queries) - asked == 2
        cluster = next(t.object.value for t in described.triples
                       if t.subject.value == competency and t.predicate.value.endswith("#broader"))
        assert f"<{cluster}>" in names  # a cluster is not a class: its name is read with every answer


def test_the_kept_class_names_are_bounded(graph, monkeypatch) -> None:
    built, triples = graph
    monkeypatch.setattr(store_catalogue, "_TYPE_NAMES_KEPT", 1)
    catalogue = StoreCatalogue(MemoryEngine(triples), built.iris.base)
    competency = next(s.subject.value for s in built.statements()
                      if s.predicate.value == RDF + "type" and s.object.value == CKG + "Competency")
    catalogue.resource(competency)  # links to four classes or more: competency, level, criterion, offer...
    assert len(catalogue._type_names) == 1
