"""The names of what a resource links to, as ``ckg serve --store`` reads them (``StoreCatalogue._linked_names``):
asked by IRI after the resource's own triples, and kept for the life of the site (``names_of``).

The answers themselves are compared with embedded mode, byte for byte, against real engines in
tests/test_store_serve.py. Here is what those cannot see: which queries are asked, and that a kept name
is given to later answers, tried on a graph that also names a class (the bundled one never does), with
the catalogue's queries run by pyoxigraph in memory."""
from __future__ import annotations

from dataclasses import replace

import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, parse

from catalog import CATALOG_DIR
from ontology.build import build_graph
from ontology.loader import load_catalogue
from ontology.graph import Statement
from ontology.namespaces import CKG, OWL, RDF, RDFS, SKOS
from service import store_catalogue
from service.describe import Descriptions
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

    def select(self, query: str, dataset: bool = True) -> list[dict]:
        self.queries.append(query)
        solutions = self.store.query(query)
        names = [variable.value for variable in solutions.variables]
        return [{name: row[name] for name in names if row[name] is not None} for row in solutions]

    def iris(self, query: str, name: str) -> list[str]:
        self.queries.append(query)
        return [row[name].value for row in self.store.query(query) if isinstance(row[name], NamedNode)]


@pytest.fixture(scope="module")
def graph():
    built = build_graph(load_catalogue(CATALOG_DIR))
    return built, [tuple(t) for t in built.statements()] + [CLASS_LABEL]


def _instances(built, cls: str) -> list[str]:
    return sorted(s.subject.value for s in built.statements()
                  if s.predicate.value == RDF + "type" and s.object.value == cls)


def test_a_class_is_named_once_then_from_memory(graph) -> None:
    built, triples = graph
    engine = MemoryEngine(triples)
    catalogue = StoreCatalogue(engine, built.iris.base)
    first, second = _instances(built, CKG + "BehaviouralCriterion")[:2]
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


def test_only_names_not_yet_kept_are_asked(graph) -> None:
    built, triples = graph
    engine = MemoryEngine(triples)
    catalogue = StoreCatalogue(engine, built.iris.base)
    competencies = _instances(built, CKG + "Competency")
    catalogue.mapped()
    asked = len(engine.queries)
    once = catalogue.resource(competencies[0])
    assert len(engine.queries) - asked == 2
    cluster = next(t.object.value for t in once.triples
                   if t.subject.value == competencies[0] and t.predicate.value.endswith("#broader"))
    assert f"<{cluster}>" in engine.queries[-1]

    asked = len(engine.queries)
    twice = catalogue.resource(competencies[0])
    assert len(engine.queries) - asked == 1, "names read once were asked again"
    assert sorted(map(str, twice.fetched)) == sorted(map(str, once.fetched))

    for other in competencies[1:]:  # the cluster, the scheme, the levels and the classes are kept: never asked again
        asked = len(engine.queries)
        catalogue.resource(other)
        assert all(f"<{cluster}>" not in query for query in engine.queries[asked:])


@pytest.mark.parametrize("bound", [5, 20])
def test_the_kept_names_are_bounded(graph, monkeypatch, bound: int) -> None:
    """Past the bound the kept names are forgotten and kept again; one answer's names beyond it are not kept.
    (The catalogue's resources link to 36 nodes in all, 14 at most in one answer.)"""
    built, triples = graph
    monkeypatch.setattr(store_catalogue, "NAMES_KEPT", bound)
    catalogue = StoreCatalogue(MemoryEngine(triples), built.iris.base)
    nodes = sorted({s.subject.value for s in built.statements()
                    if isinstance(s.subject, NamedNode) and s.subject.value.startswith(built.iris.base)})
    kept = []
    for node in nodes:
        described = catalogue.resource(node)
        kept.append(len(catalogue._names))
        assert described is not None and any(t.subject.value == node for t in described.triples)
    assert max(kept) <= bound and min(kept) < max(kept), kept


def test_a_mapping_target_is_asked_for_names_only_when_the_graph_names_it(graph) -> None:
    """Two mapping records of one competency: the graph names one target (as a catalogue carrying the
    labels of the concepts it maps to does) and not the other. The named one's label is read and the
    description is embedded mode's; the other is never asked for, at any answer."""
    built, _ = graph
    competency = _instances(built, CKG + "Competency")[0]
    named, unnamed = "http://example.org/esco/named", "http://example.org/esco/unnamed"
    extra = [Statement(NamedNode(named), NamedNode(SKOS + "prefLabel"), Literal("customer service", language="en"))]
    for n, target in enumerate((named, unnamed)):
        record = NamedNode(f"{built.iris.base}mappings/test/{n}")
        extra += [Statement(NamedNode(competency), NamedNode(SKOS + "closeMatch"), NamedNode(target)),
                  Statement(record, NamedNode(RDF + "type"), NamedNode(OWL + "Axiom")),
                  Statement(record, NamedNode(OWL + "annotatedSource"), NamedNode(competency)),
                  Statement(record, NamedNode(OWL + "annotatedProperty"), NamedNode(SKOS + "closeMatch")),
                  Statement(record, NamedNode(OWL + "annotatedTarget"), NamedNode(target))]
    mapped = replace(built, mappings=[*built.mappings, *extra])
    engine = MemoryEngine([tuple(t) for t in mapped.statements()])
    catalogue = StoreCatalogue(engine, built.iris.base)
    for _ in range(2):
        described = catalogue.resource(competency)
        assert f"<{unnamed}>" not in engine.queries[-1]
    assert any(f"<{named}>" in query for query in engine.queries)
    embedded = Descriptions(mapped).resource(competency)
    as_text = lambda triples: sorted(" ".join(str(term) for term in t) for t in triples)  # noqa: E731
    assert as_text(described.triples) == as_text(embedded.triples)
    assert any(t.subject.value == named for t in described.triples)


def test_a_link_no_query_can_name_is_described_not_refused(graph) -> None:
    """An engine's graph loaded by other tools may link to an IRI with a space (``<a\\u0020b>`` in N-Triples;
    we read answers leniently). It cannot be written into a query: the answer is given without its names,
    never a ValueError (a 500)."""
    built, triples = graph
    competency = _instances(built, CKG + "Competency")[0]
    odd = next(quad.triple for quad in parse(
        f"<{competency}> <{SKOS}related> <http://example.org/a\\u0020b> .\n".encode(), RdfFormat.N_TRIPLES, lenient=True))
    assert odd.object.value == "http://example.org/a b"
    engine = MemoryEngine([*triples, tuple(odd)])
    described = StoreCatalogue(engine, built.iris.base).resource(competency)
    assert described is not None and any(t.object == odd.object for t in described.triples)
    assert all("a b" not in query for query in engine.queries)
