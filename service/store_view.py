"""The slice of an engine's graph that one request fetched, indexed like the whole graph is in embedded mode.

``ckg serve --store`` keeps no copy of the graph: each request asks the engine for the triples its
answer needs (``service.store_catalogue``) and puts them in a :class:`View`. A View is a
:class:`~service.describe.SubjectIndex`, so the very code that describes resources and writes pages
in embedded mode runs on it unchanged and gives the same triples and the same HTML, provided the
slice holds what that code reads (the queries are written for exactly that).

Statements are kept per subject in the order the embedded graph has them (subject, rdf:type first,
predicate, object), so pages that list a node's statements show them in the same order.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

from pyoxigraph import NamedNode

from exports.jsonld import EMBEDDED
from ontology.namespaces import CKG, OWL, RDF, SKOS

from .describe import Fact, SubjectIndex

_TYPE = RDF + "type"
_SOURCE = OWL + "annotatedSource"


@dataclass
class View(SubjectIndex):
    """A subject index over some triples; the derived maps are computed as Descriptions computes them,
    except those a request fetched whole with a query of its own (passed in, they win).

    What only some answers read is made on first use: the members of a class (sorted by rank, one
    class at a time), the clusters' competencies. A competency's Turtle reads neither, and sorting
    every class's members was a third of indexing the slice."""

    base: str
    page_size: int
    triples: Iterable[Fact]
    clusters: dict[str, list[str]] | None = None
    """Each cluster's current competencies, when a query fetched them whole (else found in the slice)."""
    by_level: dict[str, list[str]] = field(default_factory=dict)
    by_subject: dict[str, list[Fact]] = field(init=False)
    members_of_class: dict[str, list[str]] = field(init=False)
    """Class -> its instances in listing order, filled per class by ``instances`` (or set by a caller)."""
    parents: dict[str, str] = field(init=False)
    mappings: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        # one key per statement: subject, then rdf:type first, predicate, object, each as N-Triples writes it
        # (the compiled graph's order); equal statements have equal keys, so this also drops the repeats
        # that several queries' answers share. One sort of all keys, instead of grouping into sets and
        # sorting each subject's: a fifth less for a level page's ~1,550 triples.
        keyed: dict[tuple, Fact] = {}
        for t in self.triples:
            predicate = t.predicate.value
            keyed[(str(t.subject), predicate != _TYPE, predicate, str(t.object))] = t
        by_subject: dict[str, list[Fact]] = {}
        members: dict[str, list[str]] = defaultdict(list)
        parents: dict[str, str] = {}
        mappings: dict[str, list[str]] = defaultdict(list)
        shown = subject = None
        statements: list[Fact] = []
        for key in sorted(keyed):
            t = keyed[key]
            if key[0] != shown:
                shown, subject = key[0], t.subject.value
                statements = by_subject[subject] = []
            statements.append(t)
            predicate = key[2]
            if predicate == _TYPE:
                members[t.object.value].append(subject)
            elif predicate in EMBEDDED and isinstance(t.object, NamedNode):
                parents[t.object.value] = subject
            elif predicate == _SOURCE and isinstance(t.object, NamedNode):
                mappings[t.object.value].append(subject)
        self.by_subject = by_subject
        self._unsorted = members
        self.members_of_class = {}
        self.parents = parents
        self.mappings = {node: sorted(records) for node, records in mappings.items()}

    def instances(self, cls: str) -> list[str]:
        found = self.members_of_class.get(cls)
        if found is None:
            found = self.members_of_class[cls] = sorted(self._unsorted.get(cls, ()), key=self.sort_key)
        return found

    @cached_property
    def competencies_by_cluster(self) -> dict[str, list[str]]:  # type: ignore[override]
        if self.clusters:
            return self.clusters
        found: dict[str, list[str]] = defaultdict(list)
        for competency in self.instances(CKG + "Competency"):
            if not self.deprecated(competency):
                for cluster in self.objects(competency, SKOS + "broader"):
                    found[cluster.value].append(competency)
        return dict(found)
