"""Turn the checked catalogue model into RDF triples, following the model in the README (*The model*).

Statements are tuples of Oxigraph terms: cheap to create, to index and to share (a subject's
term object is reused by all its statements); ``graph.py`` turns them into Oxigraph triples for
writing and into rdflib terms where rdflib's API serves. No blank nodes are minted: every node
has an IRI, so every export is deterministic and isomorphism is plain set equality.
"""
from __future__ import annotations

from functools import cache
from typing import Iterable

from pyoxigraph import Literal, NamedNode, Triple

from .graph import CatalogueGraph, Statement
from .iris import VOCAB, Iris
from .model import Catalogue, Competency, Deprecation, Source, Text
from .namespaces import CKG, DCAT, DCT, FOAF, OWL, PROV, RDF, SCHEMA, SKOS, VCARD, VOID, XSD
from .releases import versions

@cache
def _term(iri: str) -> NamedNode:
    """A vocabulary term (predicate or class): few of them, each reused for every triple."""
    return NamedNode(iri)


_n = NamedNode


A = _term(RDF + "type")
_INTEGER = _term(XSD + "integer")
_DATE = _term(XSD + "date")
_TRUE = Literal("true", datatype=_term(XSD + "boolean"))
_OFFER_CLASSES = {"workshop": "Workshop", "coaching": "Coaching", "training": "Training", "course": "Course"}


class _Triples:
    """Collects the triples about one part of the catalogue."""

    def __init__(self) -> None:
        self.triples: list[Statement] = []

    def add(self, subject: NamedNode, predicate: str, obj: NamedNode | Literal) -> None:
        self.triples.append(Statement(subject, _term(predicate), obj))

    def types(self, subject: NamedNode, *classes: str) -> None:
        for cls in classes:
            self.triples.append(Statement(subject, A, _term(cls)))

    def link(self, subject: NamedNode, predicate: str, iri: str) -> None:
        self.add(subject, predicate, _n(iri))

    def text(self, subject: NamedNode, predicate: str, text: Text | None) -> None:
        for language, value in (text or {}).items():
            self.triples.append(Statement(subject, _term(predicate), Literal(value, language=language)))

    def plain(self, subject: NamedNode, predicate: str, value: str) -> None:
        self.triples.append(Statement(subject, _term(predicate), Literal(value)))

    def integer(self, subject: NamedNode, predicate: str, value: int) -> None:
        self.triples.append(Statement(subject, _term(predicate), Literal(str(value), datatype=_INTEGER)))

    def date(self, subject: NamedNode, predicate: str, value: str) -> None:
        self.triples.append(Statement(subject, _term(predicate), Literal(value, datatype=_DATE)))


def _deprecate(t: _Triples, node: NamedNode, deprecation: Deprecation | None, iris: Iris) -> None:
    """owl:deprecated, each replacement both ways (dct:isReplacedBy / dct:replaces) and the note.

    The reverse link sits in the deprecated resource's group, so a release diff shows the whole
    deprecation in one place, and the replacement's page still finds it (pages read the store).
    """
    if deprecation is None:
        return
    t.add(node, OWL + "deprecated", _TRUE)
    for path in deprecation.replaced_by:
        replacement = _n(iris.base + path)
        t.add(node, DCT + "isReplacedBy", replacement)
        t.add(replacement, DCT + "replaces", node)
    t.text(node, SKOS + "historyNote", deprecation.note)


def _inherited(competency: Competency, catalogue: Catalogue) -> dict[int, Deprecation]:
    """Level rank -> the deprecation a deprecated competency passes to that level and its criteria.

    A competency's levels and criteria are part of it: when it is deprecated they are too, each
    replaced by the level of the same rank of every replacement competency that has one (a criterion
    by that level as well: criteria at the same position in another competency do not say the same
    thing, the level they describe does). A level or criterion with its own deprecation keeps it.
    """
    if competency.deprecated is None:
        return {}
    slugs = [path[len("competency/"):] for path in competency.deprecated.replaced_by
             if path.startswith("competency/") and path.count("/") == 1]
    ranks = {c.slug: {level.rank for level in c.levels} for c in catalogue.competencies if c.slug in slugs}
    return {level.rank: Deprecation(tuple(f"competency/{slug}/level/{level.rank}" for slug in slugs
                                          if level.rank in ranks.get(slug, ())),
                                    None, competency.deprecated.source)
            for level in competency.levels}


def build_graph(catalogue: Catalogue) -> CatalogueGraph:
    """The catalogue's graph: shared nodes (dataset, schemes, levels, clusters) and one part per competency."""
    builder = GraphBuilder()
    for competency in catalogue.competencies:
        builder.add(catalogue, competency)
    return builder.graph(catalogue)


class GraphBuilder:
    """Builds competency parts one at a time, in any order, so building can overlap reading.

    ``add`` is the loader's ``on_competency`` handler; ``graph`` then adds the shared nodes and puts
    the parts in the catalogue's (slug) order, building any competency not added yet.
    """

    def __init__(self) -> None:
        self.sources: dict[str, Source] = {}
        self._parts: dict[int, list[Statement]] = {}
        self._iris: Iris | None = None

    def add(self, catalogue: Catalogue, competency: Competency, *, complete: bool = False) -> None:
        if self._iris is None:
            self._iris = Iris(catalogue.base)
        if competency.deprecated is not None and not complete:
            return  # its levels follow its replacements' levels, which may not be read yet: built in graph()
        self._parts[id(competency)] = _competency_triples(competency, catalogue, self._iris, self.sources)

    def graph(self, catalogue: Catalogue, *, links: Iterable[Triple] = (),
              mappings: list[Triple] | None = None) -> CatalogueGraph:
        """The finished graph; nothing is added to it afterwards.

        ``links`` (statements from the catalogue's things to other frameworks) go into the part of
        the competency their subject belongs to, so each competency's dump holds its own links;
        ``mappings`` (the mapping sets and records) become the graph's last group.
        """
        for competency in catalogue.competencies:
            if id(competency) not in self._parts:
                self.add(catalogue, competency, complete=True)
        iris = self._iris or Iris(catalogue.base)
        shared = _shared_triples(catalogue, iris, self.sources)
        parts = [self._parts[id(c)] for c in catalogue.competencies]
        extra = list(mappings or ())
        index = {c.slug: i for i, c in enumerate(catalogue.competencies)}
        for triple in links:
            where = index.get(iris.competency_slug(triple.subject.value))
            (parts[where] if where is not None else extra).append(triple)
        return CatalogueGraph(iris=iris, shared=shared, parts=parts, sources=self.sources, mappings=extra)


def _shared_triples(catalogue: Catalogue, iris: Iris, sources: dict[str, Source]) -> list[Statement]:
    t = _Triples()
    dataset, scheme, level_scheme = _n(iris.dataset), _n(iris.scheme), _n(iris.level_scheme)
    publisher = catalogue.publisher
    organisation, contact = _n(iris.organisation(publisher.slug)), _n(iris.contact(publisher.slug))

    t.types(dataset, DCAT + "Dataset", VOID + "Dataset")
    t.text(dataset, DCT + "title", catalogue.title)
    t.text(dataset, DCT + "description", catalogue.description)
    t.add(dataset, DCT + "publisher", organisation)
    t.add(dataset, DCAT + "contactPoint", contact)
    t.link(dataset, DCT + "license", catalogue.license)
    t.link(dataset, DCT + "source", catalogue.source_page)
    t.plain(dataset, DCAT + "version", catalogue.version)
    t.date(dataset, DCT + "issued", catalogue.issued)
    t.date(dataset, DCT + "modified", catalogue.modified)
    t.add(dataset, VOID + "rootResource", scheme)
    t.add(dataset, VOID + "rootResource", level_scheme)
    t.link(dataset, VOID + "sparqlEndpoint", iris.sparql)
    t.plain(dataset, VOID + "uriSpace", iris.base)
    for namespace in (SKOS, VOCAB):
        t.link(dataset, VOID + "vocabulary", namespace)

    _version_triples(t, catalogue, iris, dataset, organisation)

    t.types(organisation, FOAF + "Organization", SCHEMA + "Organization")
    t.plain(organisation, FOAF + "name", publisher.name)
    t.link(organisation, FOAF + "homepage", publisher.homepage)
    t.text(organisation, SCHEMA + "slogan", publisher.tagline)
    t.types(contact, VCARD + "Organization")
    t.plain(contact, VCARD + "fn", publisher.name)
    t.link(contact, VCARD + "hasEmail", f"mailto:{publisher.email}")
    t.link(contact, VCARD + "hasTelephone", "tel:" + publisher.telephone.replace(" ", "").replace("-", ""))

    t.types(scheme, SKOS + "ConceptScheme")
    t.text(scheme, SKOS + "prefLabel", catalogue.title)
    t.text(scheme, DCT + "description", catalogue.description)
    t.text(scheme, SKOS + "scopeNote", catalogue.criteria_note)
    t.add(scheme, DCT + "publisher", organisation)
    t.link(scheme, DCT + "license", catalogue.license)
    t.link(scheme, DCT + "source", catalogue.source_page)

    t.types(level_scheme, SKOS + "ConceptScheme")
    t.text(level_scheme, SKOS + "prefLabel", catalogue.levels_name)
    t.text(level_scheme, DCT + "description", catalogue.levels_description)
    t.add(level_scheme, DCT + "publisher", organisation)

    for cluster in catalogue.clusters:
        node = _n(iris.cluster(cluster.slug))
        sources[node.value] = cluster.source
        t.types(node, CKG + "Cluster", SKOS + "Concept")
        t.text(node, SKOS + "prefLabel", cluster.name)
        t.text(node, SKOS + "definition", cluster.description)
        t.add(node, SKOS + "inScheme", scheme)
        t.add(node, SKOS + "topConceptOf", scheme)
        t.add(scheme, SKOS + "hasTopConcept", node)

    for level in catalogue.levels:
        node = _n(iris.level(level.rank))
        sources[node.value] = level.source
        t.types(node, CKG + "ProficiencyLevel", SKOS + "Concept")
        t.text(node, SKOS + "prefLabel", level.name)
        t.text(node, SKOS + "definition", level.description)
        t.plain(node, SKOS + "notation", str(level.rank))
        t.integer(node, CKG + "rank", level.rank)
        t.add(node, SKOS + "inScheme", level_scheme)
        t.add(node, SKOS + "topConceptOf", level_scheme)
        t.add(level_scheme, SKOS + "hasTopConcept", node)
        _deprecate(t, node, level.deprecated, iris)
    return t.triples


def _version_triples(t: _Triples, catalogue: Catalogue, iris: Iris, dataset: NamedNode, organisation: NamedNode) -> None:
    """Every release as a dcat:Dataset version of the catalogue (DCAT 3), each with its files."""
    for record in versions(catalogue):
        node = _n(iris.release(record.version))
        t.add(dataset, DCAT + "hasVersion", node)
        if record.version == catalogue.version:
            t.add(dataset, DCAT + "hasCurrentVersion", node)
        t.types(node, DCAT + "Dataset")
        t.text(node, DCT + "title", record.title or catalogue.title)  # the version says which; texts stay the source's words
        t.add(node, DCAT + "isVersionOf", dataset)
        t.plain(node, DCAT + "version", record.version)
        t.date(node, DCT + "issued", record.issued)
        t.date(node, DCT + "modified", record.issued)
        t.add(node, DCT + "publisher", organisation)
        t.link(node, DCT + "license", record.license or catalogue.license)
        if record.previous:
            t.link(node, DCAT + "previousVersion", iris.release(record.previous))
            t.link(node, PROV + "wasRevisionOf", iris.release(record.previous))
        for name, media_type in record.files:
            file = _n(iris.release_file(record.version, name))
            t.add(node, DCAT + "distribution", file)
            t.types(file, DCAT + "Distribution")
            t.add(file, DCAT + "downloadURL", file)
            t.link(file, DCAT + "mediaType", f"https://www.iana.org/assignments/media-types/{media_type}")


def _level_label(competency: Competency, name: Text, rank: int) -> Text:
    word = {"nl": "niveau", "en": "level"}
    return {lang: f"{competency.name[lang]}, {word.get(lang, 'level')} {rank}: {name[lang]}"
            for lang in competency.name if lang in name}


def _competency_triples(competency: Competency, catalogue: Catalogue, iris: Iris, sources: dict[str, Source]) -> list[Statement]:
    t = _Triples()
    node = _n(iris.competency(competency.slug))
    sources[node.value] = competency.source
    scheme = _n(iris.scheme)
    t.types(node, CKG + "Competency", SKOS + "Concept")
    t.text(node, SKOS + "prefLabel", competency.name)
    t.text(node, SKOS + "definition", competency.definition)
    t.add(node, SKOS + "inScheme", scheme)
    # A deprecated competency leaves the scheme's hierarchy (no skos:broader): its cluster stays one
    # link away, ckg:formerCluster, so its page and the cluster's "include deprecated" listing find it.
    t.link(node, SKOS + "broader" if competency.deprecated is None else CKG + "formerCluster", iris.cluster(competency.cluster))
    _deprecate(t, node, competency.deprecated, iris)
    inherited = _inherited(competency, catalogue)
    level_names = {level.rank: level.name for level in catalogue.levels}
    for level in competency.levels:
        level_node = _n(iris.competency_level(competency.slug, level.rank))
        sources[level_node.value] = level.source
        t.add(node, CKG + "hasLevel", level_node)
        t.types(level_node, CKG + "CompetencyLevel", SKOS + "Concept")
        t.text(level_node, SKOS + "prefLabel", _level_label(competency, level_names[level.rank], level.rank))
        t.add(level_node, SKOS + "inScheme", scheme)
        t.add(level_node, SKOS + "broader", node)
        t.link(level_node, CKG + "level", iris.level(level.rank))
        t.integer(level_node, CKG + "rank", level.rank)
        _deprecate(t, level_node, level.deprecated or inherited.get(level.rank), iris)
        for criterion in level.criteria:
            criterion_node = _n(iris.criterion(competency.slug, level.rank, criterion.position))
            sources[criterion_node.value] = criterion.source
            t.add(level_node, CKG + "hasCriterion", criterion_node)
            t.types(criterion_node, CKG + "BehaviouralCriterion")
            t.integer(criterion_node, CKG + "position", criterion.position)
            t.text(criterion_node, CKG + "statement", criterion.statement)
            _deprecate(t, criterion_node, criterion.deprecated or inherited.get(level.rank), iris)
    for offer in competency.development:
        offer_node = _n(iris.offer(offer.slug))
        sources[offer_node.value] = offer.source
        t.add(node, CKG + "developmentOffer", offer_node)
        t.types(offer_node, CKG + "DevelopmentOffer", CKG + _OFFER_CLASSES[offer.kind])
        t.text(offer_node, SCHEMA + "name", offer.name)
    return t.triples
