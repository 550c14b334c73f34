"""What the service says about each IRI: self-contained descriptions as lists of triples.

A description holds the resource's own triples, those of the nodes it owns (a competency's levels
and their criteria, its development offers: the links ``exports.jsonld.EMBEDDED`` nests), and the
labels and types of every other node it links to, so a client never needs a second request to show
what a link points at. The index behind it (subject -> triples) is built once per graph: the graph
is immutable while served, so nothing here is ever recomputed for a request.

Documents that are not catalogue data (the dataset's VoID/DCAT statistics, the listings) are also
made here, as triples, so every renderer (JSON-LD, Turtle, HTML...) shows the same graph.
"""
from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import get_close_matches
from importlib.resources import files
from math import ceil
from os.path import commonprefix
from typing import Callable, Iterable

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, parse

from exports.jsonld import EMBEDDED
from exports.release import BASENAME, MEDIA_TYPES
from ontology.graph import CatalogueGraph, Statement
from ontology.iris import VOCAB_DOCUMENT
from ontology.namespaces import CKG, DCAT, DCT, FOAF, OWL, RDF, RDFS, SCHEMA, SKOS, SSSOM, VCARD, VOID, XSD

HYDRA = "http://www.w3.org/ns/hydra/core#"
MAPPING_SUMMARY = (RDF + "type", OWL + "annotatedSource", OWL + "annotatedProperty", OWL + "annotatedTarget",
                   SSSOM + "object_label")
"""What of a mapping record (an SSSOM owl:Axiom) rides along with the mapped resource: enough to
name the external concept it points at; the full record (justification, author...) is at its own IRI."""
LABELS = (SKOS + "prefLabel", SCHEMA + "name", FOAF + "name", DCT + "title", RDFS + "label", VCARD + "fn")
"""Predicates that name a node, in the order a page looks for a name."""
_TYPE = RDF + "type"
_INTEGER = NamedNode(XSD + "integer")
_A = NamedNode(_TYPE)
_KINDS = {
    CKG + "Competency": "competency", CKG + "CompetencyLevel": "competency-level",
    CKG + "BehaviouralCriterion": "criterion", CKG + "ProficiencyLevel": "level", CKG + "Cluster": "cluster",
    CKG + "DevelopmentOffer": "offer", SKOS + "ConceptScheme": "scheme", DCAT + "Dataset": "dataset",
    FOAF + "Organization": "organisation", VCARD + "Organization": "contact",
}
RDF_DUMPS = ("ttl", "nt", "rdf", "jsonld")
"""Release files that are the whole graph in an RDF syntax: the dataset's void:dataDump links."""
CLUSTER_MEMBER = (SKOS + "broader", SKOS + "prefLabel", _TYPE)
"""What of each member competency a cluster's description brings along."""
LISTED = (_TYPE, SKOS + "prefLabel", SKOS + "broader", CKG + "rank", SKOS + "notation", OWL + "deprecated")
"""What of each member a listing page shows."""
LISTINGS = {"competency": CKG + "Competency", "level": CKG + "ProficiencyLevel", "cluster": CKG + "Cluster"}
"""Listing path segment -> class of its members: ``{base}competency/`` lists every competency."""

Fact = Statement | Triple
"""One statement: the graph's own (a tuple of terms, as built) or a triple made for one document."""


@dataclass(frozen=True)
class Description:
    """A document about ``iri``: the triples to write, and how to read them back as a page."""

    iri: str
    """The node the document is about: the top object of its JSON-LD."""
    kind: str
    triples: list[Fact]
    page: "Page | None" = None
    turtle: bytes | None = None
    """The hand-written Turtle source, served as is (with its comments) for the vocabulary and shapes."""
    fetched: list[Fact] | None = None
    """Read from an engine (``--store``): every triple fetched to describe it, more than ``triples`` keeps,
    which its HTML page reads too (names of linked criteria...). None in embedded mode."""

    def read(self) -> list[Fact]:
        """What the engine gave for this description (``triples`` is a selection of it), else ``triples``:
        what a page of it is written from. Not both: the View indexing them would sort every triple twice."""
        return self.fetched if self.fetched is not None else self.triples


@dataclass(frozen=True)
class Page:
    """One page of a paged list: which members, and the IRIs of its neighbours (None at the ends)."""

    number: int
    count: int
    total: int
    members: list[str]
    first: str
    last: str
    previous: str | None
    next: str | None
    view: str = ""
    """This page's own IRI."""


def integer(value: int) -> Literal:
    return Literal(str(value), datatype=_INTEGER)


def label_of(triples: Iterable[Fact]) -> dict[str, str]:
    """The first naming predicate's texts, per language ('' for an untagged name)."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for t in triples:
        if t.predicate.value in LABELS and isinstance(t.object, Literal):
            found[t.predicate.value].setdefault(t.object.language or "", t.object.value)
    for predicate in LABELS:
        if predicate in found:
            return found[predicate]
    return {}


def kind_of(types: Iterable[str], known: bool) -> str | None:
    """The kind of a node with these types, in the order its statements are kept (``known``: it has some)."""
    for type_ in types:
        if type_ in _KINDS:
            return _KINDS[type_]
    return "resource" if known else None


class SubjectIndex:
    """The read side of a subject index: what pages and descriptions ask of a graph.

    Two classes hold one: :class:`Descriptions` (the whole graph, indexed once, embedded mode) and
    ``service.store_view.View`` (the slice of an engine's graph one request fetched, ``--store``).
    Everything here reads ``by_subject`` and the derived maps only, so the same code gives the same
    triples and pages in both modes.
    """

    base: str
    page_size: int
    by_subject: dict[str, list[Fact]]
    members_of_class: dict[str, list[str]]
    competencies_by_cluster: dict[str, list[str]]
    parents: dict[str, str]
    by_level: dict[str, list[str]]
    mappings: dict[str, list[str]]

    def types(self, iri: str) -> list[str]:
        return [t.object.value for t in self.by_subject.get(iri, ()) if t.predicate.value == _TYPE]

    def kind(self, iri: str) -> str | None:
        """What sort of resource ``iri`` is ('competency', 'level', ...), None when not in the graph."""
        return kind_of(self.types(iri), iri in self.by_subject)

    def label(self, iri: str) -> dict[str, str]:
        return label_of(self.by_subject.get(iri, ()))

    def objects(self, iri: str, predicate: str) -> list[NamedNode | BlankNode | Literal]:
        return [t.object for t in self.by_subject.get(iri, ()) if t.predicate.value == predicate]

    def value(self, iri: str, predicate: str) -> str | None:
        found = self.objects(iri, predicate)
        return found[0].value if found else None

    def sort_key(self, iri: str) -> tuple:
        """Order of listings and of a competency's levels and criteria: rank or position, else IRI."""
        rank = self.value(iri, CKG + "rank") or self.value(iri, CKG + "position")
        return (int(rank) if rank and rank.lstrip("-").isdigit() else 0, iri)

    def instances(self, cls: str) -> list[str]:
        return self.members_of_class.get(cls, [])

    def deprecated(self, iri: str) -> bool:
        return any(t.predicate.value == OWL + "deprecated" and t.object.value == "true"
                   for t in self.by_subject.get(iri, ()))

    def owned(self, iri: str) -> list[Fact]:
        """The triples of ``iri`` and, recursively, of the nodes it owns (EMBEDDED links)."""
        out: list[Fact] = []
        pending, seen = [iri], set()
        while pending:
            subject = pending.pop(0)
            if subject in seen:
                continue
            seen.add(subject)
            for t in self.by_subject.get(subject, ()):
                out.append(t)
                if t.predicate.value in EMBEDDED and isinstance(t.object, NamedNode):
                    pending.append(t.object.value)
        return out

    def with_link_labels(self, triples: list[Fact]) -> list[Fact]:
        """``triples`` plus the types and names of every node they link to but do not describe."""
        described = {t.subject.value for t in triples}
        linked = sorted({t.object.value for t in triples if isinstance(t.object, NamedNode)
                         and t.predicate.value != _TYPE and t.object.value not in described
                         and t.object.value in self.by_subject})
        extra = [t for iri in linked for t in self.by_subject[iri]
                 if t.predicate.value == _TYPE or t.predicate.value in LABELS]
        return triples + extra

    def described(self, iri: str, kind: str) -> list[Fact]:
        """The triples of ``iri``'s description: itself and what it owns, its mappings' summaries, a
        cluster's members, and the names and types of every node they link to."""
        triples = self.owned(iri)
        for node in sorted({t.subject.value for t in triples}):
            for record in self.mappings.get(node, ()):
                triples += [t for t in self.by_subject[record] if t.predicate.value in MAPPING_SUMMARY]
        if kind == "cluster":
            # Who belongs to the cluster is said by the members (skos:broader): bring those triples along.
            for competency in self.competencies_by_cluster.get(iri, []):
                triples += [t for t in self.by_subject[competency]
                            if t.predicate.value in CLUSTER_MEMBER]
        return self.with_link_labels(triples)

    def collection(self, iri: str, page: Page) -> Description:
        """One page of a listing as a hydra:Collection (``by_subject`` must hold the page's members)."""
        collection, view = NamedNode(iri), NamedNode(page.view)
        triples = [
            Triple(collection, _A, NamedNode(HYDRA + "Collection")),
            Triple(collection, NamedNode(HYDRA + "totalItems"), integer(page.total)),
            Triple(collection, NamedNode(HYDRA + "view"), view),
            Triple(view, _A, NamedNode(HYDRA + "PartialCollectionView")),
            Triple(view, NamedNode(HYDRA + "first"), NamedNode(page.first)),
            Triple(view, NamedNode(HYDRA + "last"), NamedNode(page.last)),
        ]
        if page.previous:
            triples.append(Triple(view, NamedNode(HYDRA + "previous"), NamedNode(page.previous)))
        if page.next:
            triples.append(Triple(view, NamedNode(HYDRA + "next"), NamedNode(page.next)))
        for member in page.members:
            triples.append(Triple(collection, NamedNode(HYDRA + "member"), NamedNode(member)))
            triples += [t for t in self.by_subject[member] if t.predicate.value in LISTED]
        return Description(iri, "listing", self.with_link_labels(triples), page)

    def paginate(self, iri: str, members: list[str], number: int, query: str = "") -> Page | None:
        """Page ``number`` (from 1) of ``members``; page 1 always exists, even for an empty list."""
        count = max(1, ceil(len(members) / self.page_size))
        if not 1 <= number <= count:
            return None
        start = (number - 1) * self.page_size
        return Page(
            number=number, count=count, total=len(members), members=members[start:start + self.page_size],
            first=_page_iri(iri, 1, query), last=_page_iri(iri, count, query),
            previous=_page_iri(iri, number - 1, query) if number > 1 else None,
            next=_page_iri(iri, number + 1, query) if number < count else None,
            view=_page_iri(iri, number, query),
        )


@dataclass
class Descriptions(SubjectIndex):
    """Every description the site serves for one graph, computed from an index built once."""

    graph: CatalogueGraph
    page_size: int = 100
    by_subject: dict[str, list[Fact]] = field(default_factory=dict)
    members_of_class: dict[str, list[str]] = field(init=False)
    """Class IRI -> its instances, in the order listings show them (rank, else IRI)."""
    competencies_by_cluster: dict[str, list[str]] = field(init=False)
    parents: dict[str, str] = field(init=False)
    by_level: dict[str, list[str]] = field(init=False)
    mappings: dict[str, list[str]] = field(init=False)
    siblings: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        index: dict[str, list[Fact]] = defaultdict(list)
        for group in self.graph.ordered_groups:  # the graph's own statements: no Triple object made per triple
            for statement in group:
                index[statement.subject.value].append(statement)
        self.by_subject = dict(index)
        # Every index below is built here, once, before the first request: under gunicorn's preload
        # that happens in the master, and every worker shares the result instead of rebuilding it.
        self.members_of_class = self._members_of_class()
        self.competencies_by_cluster = self._competencies_by_cluster()
        self.parents = self._parents()
        self.by_level = self._by_level()
        self.mappings = self._mappings()
        self.siblings = self._siblings()
        self._dataset = self._dataset_description()

    @property
    def base(self) -> str:
        return self.graph.iris.base

    def triple_count(self) -> int:
        return len(self.graph)

    # ---- what is where ----------------------------------------------------------------------

    def _members_of_class(self) -> dict[str, list[str]]:
        """Class IRI -> its instances, in the order listings show them (rank, else IRI)."""
        members: dict[str, list[str]] = defaultdict(list)
        for subject, triples in self.by_subject.items():
            for t in triples:
                if t.predicate.value == _TYPE:
                    members[t.object.value].append(subject)
        for cls, iris in members.items():
            iris.sort(key=self.sort_key)
        return dict(members)

    def _competencies_by_cluster(self) -> dict[str, list[str]]:
        """Cluster IRI -> the competencies under it (skos:broader), in IRI (slug) order.

        Deprecated competencies are left out: they leave the hierarchy (their own page still names
        their cluster and their replacements).
        """
        found: dict[str, list[str]] = defaultdict(list)
        for competency in self.instances(CKG + "Competency"):
            if self.deprecated(competency):
                continue
            for cluster in self.objects(competency, SKOS + "broader"):
                found[cluster.value].append(competency)
        return dict(found)

    def _parents(self) -> dict[str, str]:
        """Owned node -> its owner (criterion -> competency level -> competency; offer -> competency)."""
        return {t.object.value: subject for subject, triples in self.by_subject.items() for t in triples
                if t.predicate.value in EMBEDDED and isinstance(t.object, NamedNode)}

    def _by_level(self) -> dict[str, list[str]]:
        """Generic level IRI -> the competency levels described at it, in competency order."""
        found: dict[str, list[str]] = defaultdict(list)
        for competency_level in self.instances(CKG + "CompetencyLevel"):
            for level in self.objects(competency_level, CKG + "level"):
                found[level.value].append(competency_level)
        for members in found.values():
            members.sort()
        return dict(found)

    def _mappings(self) -> dict[str, list[str]]:
        """Mapped resource -> the mapping records (owl:Axiom, from the SSSOM tables) about its links.

        Records live in the graph's mappings group (see ``CatalogueGraph.mappings``): only that is read.
        """
        found: dict[str, list[str]] = defaultdict(list)
        for t in self.graph.mappings:
            if t.predicate.value == OWL + "annotatedSource" and isinstance(t.object, NamedNode):
                found[t.object.value].append(t.subject.value)
        return {node: sorted(records) for node, records in found.items()}

    def _siblings(self) -> dict[str, list[str]]:
        """Parent path -> sorted last segments of the IRIs below the base there ('competency' -> slugs)."""
        found: dict[str, list[str]] = defaultdict(list)
        for iri in self.by_subject:
            if iri.startswith(self.base):
                parent, _, last = iri[len(self.base):].rpartition("/")
                found[parent].append(last)
        return {parent: sorted(names) for parent, names in found.items()}

    def near(self, path: str, limit: int = 3) -> list[str]:
        """Existing paths that look like ``path`` (for a 404), found in logarithmic time.

        Only siblings (same parent) are considered: the slugs sharing the longest prefix, found by
        bisection, and for small sibling sets also close spellings, so a typo costs no full scan.
        """
        return near_among(self.siblings.get(path.rpartition("/")[0], []), path, limit)

    # ---- descriptions -------------------------------------------------------------------------

    def knows(self, iri: str) -> bool:
        """Whether ``iri`` is described (an engine-backed catalogue answers this by describing it)."""
        return iri in self.by_subject

    def resource(self, iri: str) -> Description | None:
        """The self-contained description of a catalogue IRI, or None if the graph has no such node."""
        if iri not in self.by_subject:
            return None
        kind = self.kind(iri) or "resource"
        if kind == "dataset":
            return self.dataset()
        return Description(iri, kind, self.described(iri, kind))

    def _dataset_description(self) -> Description:
        counts = {cls: len(members) for cls, members in self.members_of_class.items()}
        extra = void_triples(self.base, len(self.graph), sum(1 for s in self.by_subject if not s.startswith("_:")),
                             len(self.by_subject), counts, self.graph.iris.download)
        return Description(self.base, "dataset", self.with_link_labels(self.owned(self.base) + extra))

    def dataset(self) -> Description:
        """The dataset's own triples plus VoID statistics, class partitions and its downloads (DCAT)."""
        return self._dataset

    def listing(self, segment: str, number: int, *, include_deprecated: bool = False) -> Description | None:
        """Page ``number`` of ``{base}{segment}/`` as a hydra:Collection; None if there is no such page.

        Deprecated resources are left out unless asked for: a listing is what to use today, and a
        deprecated resource still answers at its own IRI with its replacements.
        """
        members = self.instances(LISTINGS[segment])
        if not include_deprecated:
            members = [m for m in members if not self.deprecated(m)]
        iri = f"{self.base}{segment}/"
        page = self.paginate(iri, members, number, query="deprecated=include&" if include_deprecated else "")
        if page is None:
            return None
        return self.collection(iri, page)


def near_among(names: list[str], path: str, limit: int = 3) -> list[str]:
    """The paths among ``names`` (sorted last segments of ``path``'s siblings) that look like ``path``."""
    parent, _, last = path.rpartition("/")
    if not names or not last:
        return []
    at = bisect_left(names, last)
    window = names[max(0, at - limit):at + limit]
    shared = lambda name: len(commonprefix([name, last]))
    picked = sorted((n for n in window if shared(n) >= min(3, len(last))), key=lambda n: -shared(n))[:limit]
    if len(names) <= 500:
        picked += [n for n in get_close_matches(last, names, n=limit, cutoff=0.6) if n not in picked]
    return [f"{parent}/{name}" if parent else name for name in picked[:limit]]


def void_triples(base: str, triples: int, entities: int, subjects: int, class_counts: dict[str, int],
                 download: Callable[[str], str]) -> list[Fact]:
    """The dataset's VoID statistics, class partitions and DCAT distributions (``download``: file name -> IRI)."""
    dataset = NamedNode(base)
    extra: list[Fact] = [
        Triple(dataset, NamedNode(VOID + "triples"), integer(triples)),
        Triple(dataset, NamedNode(VOID + "entities"), integer(entities)),
        Triple(dataset, NamedNode(VOID + "distinctSubjects"), integer(subjects)),
    ]
    for cls, count in sorted(class_counts.items()):
        local = cls.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        partition = NamedNode(f"{base}#class-{local}")
        extra += [
            Triple(dataset, NamedNode(VOID + "classPartition"), partition),
            Triple(partition, NamedNode(VOID + "class"), NamedNode(cls)),
            Triple(partition, NamedNode(VOID + "entities"), integer(count)),
        ]
    for extension, media_type in MEDIA_TYPES.items():
        file = NamedNode(download(f"{BASENAME}.{extension}"))
        if extension in RDF_DUMPS:
            extra.append(Triple(dataset, NamedNode(VOID + "dataDump"), file))
        extra += [
            Triple(dataset, NamedNode(DCAT + "distribution"), file),
            Triple(file, _A, NamedNode(DCAT + "Distribution")),
            Triple(file, NamedNode(DCAT + "downloadURL"), file),
            Triple(file, NamedNode(DCAT + "mediaType"), NamedNode(f"https://www.iana.org/assignments/media-types/{media_type}")),
        ]
    extra.append(Triple(dataset, NamedNode(DCAT + "landingPage"), dataset))
    return extra


def _page_iri(iri: str, number: int, query: str = "") -> str:
    """A page's IRI; ``query`` ('deprecated=include&') keeps a listing option from page to page."""
    return f"{iri}?{query}page={number}"


def _file_triples(data: bytes) -> list[Triple]:
    """The triples of a Turtle file, blank nodes renamed b0, b1... in reading order.

    Oxigraph names blank nodes at random; fixed names make every worker write the same bytes,
    hence the same ETag.
    """
    names: dict[str, BlankNode] = {}

    def fixed(term):
        if isinstance(term, BlankNode):
            return names.setdefault(term.value, BlankNode(f"b{len(names)}"))
        return term

    return [Triple(fixed(q.subject), q.predicate, fixed(q.object))
            for q in parse(data, RdfFormat.TURTLE, base_iri=VOCAB_DOCUMENT)]


def _file_description(name: str, iri: str, kind: str) -> Description:
    data = (files("ontology") / name).read_bytes()
    return Description(iri, kind, _file_triples(data), turtle=data)


def vocabulary() -> Description:
    """The vocabulary (ontology/vocab.ttl): one document describes all its terms ``def#X``."""
    return _file_description("vocab.ttl", VOCAB_DOCUMENT, "vocabulary")


def shapes(base: str) -> Description:
    """The SHACL shapes every published catalogue conforms to (ontology/shapes.ttl)."""
    return _file_description("shapes.ttl", f"{base}shapes", "shapes")
