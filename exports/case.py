"""The catalogue as a 1EdTech CASE 1.1 framework: the CFPackage that HR and learning systems import.

Pure mapping from the built graph (no Flask, no YAML): the service's CASE API and ``ckg export``
both read what this module makes, so the file and the API can never disagree. The mapping
decisions are explained in README.md ("CASE 1.1"); in short:

* one CFDocument per language: Dutch is the source; English is a translated CFDocument whose
  every item carries an ``isTranslationOf`` association to its Dutch item, so no string ever
  mixes languages and a consumer that only speaks English imports one framework;
* identifiers are UUID v5 of our IRIs (``?lang=en`` appended for the translation), so the same
  resource keeps its identifier in every build and anyone can recompute it from the IRI;
* every ``uri`` is the object's address under ``{base}ims/case/v1p1/`` (served by
  service/case.py), and every item names its Linked Data IRI in ``extensions.linkedDataIRI``;
* order is kept by ``sequenceNumber`` on the ``isChildOf`` associations (CASE items have none);
* a mapping to ESCO becomes an association of the closest CASE type (``exactMatchOf`` for
  ``skos:exactMatch``, else ``isRelatedTo``) with the exact SKOS predicate and the SSSOM
  justification, confidence, author and comment kept in ``extensions`` and ``notes``.
"""
from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

import orjson
from pyoxigraph import Literal, NamedNode, RdfFormat, parse

from ontology.graph import CatalogueGraph, Statement
from ontology.namespaces import CKG, DCAT, DCT, FOAF, OWL, PAV, RDF, RDFS, SKOS, SSSOM

API_PATH = "ims/case/v1p1/"
"""Where the CASE REST API lives below the catalogue's base (the path the specification fixes)."""
SOURCE_LANGUAGE = "nl"
TRANSLATIONS = ("en",)
LANGUAGES = (SOURCE_LANGUAGE, *TRANSLATIONS)
CASE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/competency-kg/def#CASE")
"""UUID namespace for CASE objects that have no IRI of their own (associations, rubric parts)."""

MAPPING_PREDICATES = {SKOS + "exactMatch": "exactMatchOf", SKOS + "closeMatch": "isRelatedTo",
                      SKOS + "broadMatch": "isRelatedTo", SKOS + "narrowMatch": "isRelatedTo",
                      SKOS + "relatedMatch": "isRelatedTo"}
"""SKOS mapping predicate → the closest CASE 1.1 association type (the exact predicate is kept too)."""
ESCO = "http://data.europa.eu/esco/"

ITEM_TYPES = ("Cluster", "Competency", "CompetencyLevel", "BehaviouralCriterion", "ProficiencyLevel")
"""Our classes that become CASE items, in hierarchy order; their names come from ontology/vocab.ttl."""
_HIERARCHY_CODES = {"Cluster": "1", "Competency": "1.1", "CompetencyLevel": "1.1.1",
                    "BehaviouralCriterion": "1.1.1.1", "ProficiencyLevel": "2"}
_LICENCE_NAMES = {
    "https://creativecommons.org/licenses/by/4.0/": "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    "https://creativecommons.org/licenses/by-sa/4.0/": "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)",
    "https://creativecommons.org/publicdomain/zero/1.0/": "CC0 1.0 Universal (public domain dedication)",
}
_TYPE = RDF + "type"


def _uuid5(namespace: bytes, name: str) -> str:
    """RFC 4122 UUID v5 as text, ~4x faster than ``str(uuid.uuid5(...))`` (millions are made for a large catalogue)."""
    digest = bytearray(hashlib.sha1(namespace + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def item_id(iri: str, language: str = SOURCE_LANGUAGE) -> str:
    """The CASE identifier of the resource ``iri`` in ``language``: UUID v5 (URL namespace) of its IRI.

    The translation's IRI is the one that dereferences to that language (``?lang=en``), so both
    identifiers can be recomputed by anyone who has the IRI, and neither ever changes.
    """
    return _uuid5(_URL_NAMESPACE, language_iri(iri, language))


def language_iri(iri: str, language: str) -> str:
    return iri if language == SOURCE_LANGUAGE else f"{iri}?lang={language}"


def derived_id(*parts: str) -> str:
    """Identifier of an object without an IRI of its own (an association, a rubric row), from what defines it."""
    return _uuid5(CASE_NAMESPACE.bytes, " ".join(parts))


def rubric_identifier(competency_iri: str, language: str) -> str:
    """The CFRubric of a competency: one per competency and language."""
    return derived_id(language_iri(competency_iri, language), "rubric")


@cache
def _vocabulary_texts() -> dict[str, dict[str, dict[str, str]]]:
    """rdfs:label and skos:definition of our classes per language, read from the published vocabulary."""
    texts: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    path = files("ontology") / "vocab.ttl"
    for triple in parse(path=str(path), format=RdfFormat.TURTLE):
        if isinstance(triple.object, Literal) and triple.object.language and \
                triple.predicate.value in (RDFS + "label", SKOS + "definition"):
            texts[triple.subject.value][triple.predicate.value][triple.object.language] = triple.object.value
    return texts


@dataclass
class _Node:
    """What the graph says about one subject, grouped for reading (texts per language, links, values)."""

    iri: str
    types: set[str] = field(default_factory=set)
    texts: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    links: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    values: dict[str, str] = field(default_factory=dict)

    def text(self, predicate: str, language: str) -> tuple[str, str] | None:
        """The text in ``language``, else the source text; with the language it is really in."""
        found = self.texts.get(predicate, {})
        for lang in (language, SOURCE_LANGUAGE):
            if lang in found:
                return found[lang], lang
        return None

    def link(self, predicate: str) -> str | None:
        values = self.links.get(predicate)
        return values[0] if values else None


def _nodes(statements: Iterable[Statement]) -> dict[str, _Node]:
    nodes: dict[str, _Node] = {}
    for s in statements:
        node = nodes.get(s.subject.value)
        if node is None:
            node = nodes[s.subject.value] = _Node(s.subject.value)
        predicate, obj = s.predicate.value, s.object
        if predicate == _TYPE:
            node.types.add(obj.value)
        elif isinstance(obj, NamedNode):
            node.links[predicate].append(obj.value)
        elif isinstance(obj, Literal) and obj.language:
            node.texts[predicate][obj.language] = obj.value
        else:
            node.values[predicate] = obj.value
    return nodes


@dataclass(frozen=True)
class _Mapping:
    """One SSSOM mapping record, as the CASE association needs it."""

    record: str
    subject: str
    predicate: str
    object: str
    justification: str
    mapping_set: str
    object_label: str | None
    confidence: float | None
    comment: str | None
    authors: tuple[str, ...]
    date: str | None


def _link(title: str, identifier: str, uri: str) -> dict[str, str]:
    return {"title": title, "identifier": identifier, "uri": uri}


class CaseFramework:
    """The CASE objects of one built graph, per language; computed on demand, competency by competency.

    Building one competency's objects touches only that competency's statements, so the package of
    a large catalogue can be streamed (``write_package``) without holding it whole.
    """

    def __init__(self, graph: CatalogueGraph):
        self.graph = graph
        self.base = graph.iris.base
        self.api = self.base + API_PATH
        self.shared = _nodes(graph.shared)
        self.dataset = self.shared[graph.iris.dataset]
        self.scheme = self.shared[graph.iris.scheme]
        publisher = self.shared.get(self.dataset.link(DCT + "publisher") or "")
        self.publisher = publisher.values.get(FOAF + "name", "") if publisher else ""
        self.license = self.dataset.link(DCT + "license")
        self.version = self.dataset.values.get(DCAT + "version")
        modified = self.dataset.values.get(DCT + "modified") or self.dataset.values.get(DCT + "issued")
        self.last_change = f"{modified}T00:00:00Z" if modified else "1970-01-01T00:00:00Z"
        """Every object's lastChangeDateTime: the catalogue's 'modified' date, so a rebuild changes no byte."""
        self.clusters = sorted((n for n in self.shared.values() if CKG + "Cluster" in n.types), key=lambda n: n.iri)
        self.levels = sorted((n for n in self.shared.values() if CKG + "ProficiencyLevel" in n.types),
                             key=lambda n: int(n.values[CKG + "rank"]))
        self._type_ids: dict[tuple[str, str], str] = {}

    # ---- identifiers and links ----

    def document_id(self, language: str) -> str:
        return item_id(self.scheme.iri, language)

    def uri(self, collection: str, identifier: str) -> str:
        return f"{self.api}{collection}/{identifier}"

    def _item_link(self, iri: str, title: str, language: str) -> dict[str, str]:
        identifier = item_id(iri, language)
        return _link(title, identifier, self.uri("CFItems", identifier))

    def _gen_link(self, iri: str, title: str, language: str) -> dict[str, str]:
        return {**self._item_link(iri, title, language), "targetType": "CASE"}

    def document_link(self, language: str) -> dict[str, str]:
        identifier = self.document_id(language)
        return {**_link(self._title(language), identifier, self.uri("CFDocuments", identifier)), "targetType": "CASE"}

    def _title(self, language: str) -> str:
        found = self.scheme.text(SKOS + "prefLabel", language) or self.dataset.text(DCT + "title", language)
        return found[0] if found else self.base

    # ---- definitions ----

    @cached_property
    def mappings(self) -> dict[str, list[_Mapping]]:
        """SSSOM records by subject IRI, in a fixed order (predicate, object)."""
        nodes = _nodes(self.graph.mappings)
        set_of = {r: s.iri for s in nodes.values() if SSSOM + "MappingSet" in s.types for r in s.links.get(SSSOM + "mappings", [])}
        found: dict[str, list[_Mapping]] = defaultdict(list)
        for node in nodes.values():
            if OWL + "Axiom" not in node.types or node.iri not in set_of:
                continue
            comment = node.text(RDFS + "comment", "en")
            confidence = node.values.get(SSSOM + "confidence")
            found[node.link(OWL + "annotatedSource")].append(_Mapping(
                record=node.iri, subject=node.link(OWL + "annotatedSource"), predicate=node.link(OWL + "annotatedProperty"),
                object=node.link(OWL + "annotatedTarget"), justification=node.link(SSSOM + "mapping_justification"),
                mapping_set=set_of[node.iri], object_label=node.values.get(SSSOM + "object_label"),
                confidence=float(confidence) if confidence is not None else None, comment=comment[0] if comment else None,
                authors=tuple(sorted(node.links.get(PAV + "authoredBy", []))), date=node.values.get(DCT + "created")))
        for records in found.values():
            records.sort(key=lambda m: (m.predicate, m.object))
        return found

    @cached_property
    def mapping_sets(self) -> list[_Node]:
        return sorted((n for n in _nodes(self.graph.mappings).values() if SSSOM + "MappingSet" in n.types), key=lambda n: n.iri)

    def item_type_id(self, name: str, language: str) -> str:
        key = (name, language)
        if key not in self._type_ids:
            self._type_ids[key] = item_id(CKG + name, language)
        return self._type_ids[key]

    def item_type_title(self, name: str, language: str) -> str:
        labels = _vocabulary_texts()[CKG + name][RDFS + "label"]
        return labels.get(language) or labels[SOURCE_LANGUAGE]

    def item_types(self, language: str) -> list[dict[str, Any]]:
        out = []
        for name in ITEM_TYPES:
            texts = _vocabulary_texts()[CKG + name]
            identifier = self.item_type_id(name, language)
            out.append({
                "identifier": identifier, "uri": self.uri("CFItemTypes", identifier),
                "title": self.item_type_title(name, language),
                "description": texts[SKOS + "definition"].get(language) or texts[SKOS + "definition"][SOURCE_LANGUAGE],
                "hierarchyCode": _HIERARCHY_CODES[name], "typeCode": name,
                "lastChangeDateTime": self.last_change,
                "extensions": {"linkedDataIRI": CKG + name},
            })
        return out

    def licenses(self) -> list[dict[str, Any]]:
        return self._licenses

    @cached_property
    def _licenses(self) -> list[dict[str, Any]]:
        if not self.license:
            return []
        identifier = item_id(self.license)
        return [{"identifier": identifier, "uri": self.uri("CFLicenses", identifier),
                 "title": _LICENCE_NAMES.get(self.license, self.license),
                 "licenseText": f"{_LICENCE_NAMES.get(self.license, 'Licence')}: {self.license}",
                 "lastChangeDateTime": self.last_change, "extensions": {"linkedDataIRI": self.license}}]

    def license_link(self) -> dict[str, str] | None:
        return self._license_link

    @cached_property
    def _license_link(self) -> dict[str, str] | None:
        found = self.licenses()
        return _link(found[0]["title"], found[0]["identifier"], found[0]["uri"]) if found else None

    @cached_property
    def _grouping_links(self) -> dict[str, dict[str, str]]:
        return {g["extensions"]["linkedDataIRI"]: _link(g["title"], g["identifier"], g["uri"]) for g in self.association_groupings()}

    def association_groupings(self) -> list[dict[str, Any]]:
        """One grouping per SSSOM mapping set, so a consumer can tell curated ESCO links from the hierarchy."""
        out = []
        for node in self.mapping_sets:
            identifier = item_id(node.iri)
            grouping: dict[str, Any] = {"identifier": identifier, "uri": self.uri("CFAssociationGroupings", identifier),
                                        "title": (node.text(DCT + "title", "en") or (node.iri, ""))[0]}
            description = node.text(DCT + "description", "en")
            if description:
                grouping["description"] = description[0]
            grouping["lastChangeDateTime"] = self.last_change
            grouping["extensions"] = {"linkedDataIRI": node.iri}
            out.append(grouping)
        return out

    def definitions(self, language: str) -> dict[str, Any]:
        return {"CFConcepts": [], "CFSubjects": [], "CFLicenses": self.licenses(),
                "CFItemTypes": self.item_types(language), "CFAssociationGroupings": self.association_groupings()}

    # ---- the document ----

    def document(self, language: str) -> dict[str, Any]:
        # no frameworkType: CASE 1.1 predefines only "CourseCodes", and a plain competency framework leaves it out
        doc: dict[str, Any] = {
            "identifier": self.document_id(language),
            "uri": self.uri("CFDocuments", self.document_id(language)),
            "caseVersion": "1.1",
            "creator": self.publisher,
            "title": self._title(language),
            "lastChangeDateTime": self.last_change,
        }
        source = self.dataset.link(DCT + "source")
        if source:
            doc["officialSourceURL"] = source
        doc["publisher"] = self.publisher
        description = self.scheme.text(DCT + "description", language)
        if description:
            doc["description"] = description[0]
        doc["language"] = description[1] if description else language
        if self.version:
            doc["version"] = self.version
        issued = self.dataset.values.get(DCT + "issued")
        if issued:
            doc["statusStartDate"] = issued
        if self.license_link():
            doc["licenseURI"] = self.license_link()
        note = self.scheme.text(SKOS + "scopeNote", language)
        if note:
            doc["notes"] = note[0]
        extensions: dict[str, Any] = {"linkedDataIRI": language_iri(self.scheme.iri, language),
                                      "dataset": self.dataset.iri, "sourceLanguage": SOURCE_LANGUAGE}
        if language != SOURCE_LANGUAGE:
            extensions["isTranslationOf"] = self.document_link(SOURCE_LANGUAGE)
        else:
            extensions["translations"] = [self.document_link(t) for t in TRANSLATIONS]
        doc["extensions"] = extensions
        return doc

    # ---- items and associations ----

    def _item(self, node: _Node, kind: str, language: str, full: tuple[str, str], short: str | None,
              code: str, enumeration: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"identifier": item_id(node.iri, language), "fullStatement": full[0]}
        item["CFItemType"] = self.item_type_title(kind, language)
        item["uri"] = self.uri("CFItems", item["identifier"])
        item["humanCodingScheme"] = code
        if enumeration is not None:
            item["listEnumeration"] = enumeration
        if short is not None and short != full[0]:
            item["abbreviatedStatement"] = short
        item["language"] = full[1]
        item["CFItemTypeURI"] = _link(item["CFItemType"], self.item_type_id(kind, language),
                                      self.uri("CFItemTypes", self.item_type_id(kind, language)))
        if self.license_link():
            item["licenseURI"] = self.license_link()
        item["lastChangeDateTime"] = self.last_change
        item["extensions"] = {"linkedDataIRI": node.iri}
        return item

    def _association(self, kind: str, origin: dict[str, str], destination: dict[str, str], key: str,
                     sequence: int | None = None, notes: str | None = None, grouping: dict[str, str] | None = None,
                     extensions: dict[str, Any] | None = None) -> dict[str, Any]:
        identifier = derived_id(key, kind)
        out: dict[str, Any] = {"identifier": identifier, "associationType": kind}
        if sequence is not None:
            out["sequenceNumber"] = sequence
        out["uri"] = self.uri("CFAssociations", identifier)
        out["originNodeURI"] = origin
        out["destinationNodeURI"] = destination
        if grouping:
            out["CFAssociationGroupingURI"] = grouping
        out["lastChangeDateTime"] = self.last_change
        if notes:
            out["notes"] = notes
        if extensions:
            out["extensions"] = extensions
        return out

    def _child(self, child: dict[str, Any], parent: dict[str, str], sequence: int, language: str) -> dict[str, Any]:
        origin = {**_link(child["fullStatement"], child["identifier"], child["uri"]), "targetType": "CASE"}
        return self._association("isChildOf", origin, parent, f"{child['identifier']} {parent['identifier']}", sequence)

    def _translation(self, item: dict[str, Any], node: _Node, language: str) -> list[dict[str, Any]]:
        if language == SOURCE_LANGUAGE:
            return []
        source = self._gen_link(node.iri, self._statement_of(node, SOURCE_LANGUAGE), SOURCE_LANGUAGE)
        origin = {**_link(item["fullStatement"], item["identifier"], item["uri"]), "targetType": "CASE"}
        return [self._association("isTranslationOf", origin, source, f"{item['identifier']} {source['identifier']}")]

    def _statement_of(self, node: _Node, language: str) -> str:
        for predicate in (CKG + "statement", SKOS + "prefLabel"):
            found = node.text(predicate, language)
            if found:
                return found[0]
        return node.iri

    def _mapping_associations(self, item: dict[str, Any], node: _Node) -> list[dict[str, Any]]:
        out = []
        groupings = self._grouping_links
        origin = {**_link(item["fullStatement"], item["identifier"], item["uri"]), "targetType": "CASE"}
        for m in self.mappings.get(node.iri, []):
            destination = {"title": m.object_label or m.object, "identifier": m.object, "uri": m.object,
                           "targetType": "ext:ESCO" if m.object.startswith(ESCO) else "ext:LinkedData"}
            skos = "skos:" + m.predicate.removeprefix(SKOS)
            justification = "semapv:" + m.justification.rpartition("/")[2]
            notes = f"{skos} ({justification}" + (f", confidence {m.confidence:g}" if m.confidence is not None else "") + ")"
            if m.comment:
                notes += f": {m.comment}"
            extensions: dict[str, Any] = {"skosPredicate": m.predicate, "mappingJustification": m.justification,
                                          "mappingRecord": m.record, "mappingSet": m.mapping_set}
            if m.confidence is not None:
                extensions["confidence"] = m.confidence
            if m.authors:
                extensions["authors"] = list(m.authors)
            if m.date:
                extensions["mappingDate"] = m.date
            if m.comment:
                extensions["comment"] = m.comment
            out.append(self._association(MAPPING_PREDICATES.get(m.predicate, "isRelatedTo"), origin, destination,
                                         f"{item['identifier']} {m.record}", notes=notes,
                                         grouping=groupings.get(m.mapping_set), extensions=extensions))
        return out

    def _replacement_associations(self, item: dict[str, Any], node: _Node, language: str) -> list[dict[str, Any]]:
        """A deprecated item's ``replacedBy`` association to each replacement (dct:isReplacedBy).

        The replacement may sit in another competency's part, so it is named by its IRI: its
        identifier is computed from the IRI alone, like every item's.
        """
        origin = {**_link(item["fullStatement"], item["identifier"], item["uri"]), "targetType": "CASE"}
        out = []
        for target in sorted(node.links.get(DCT + "isReplacedBy", [])):
            destination = self._gen_link(target, target, language)
            out.append(self._association("replacedBy", origin, destination, f"{item['identifier']} {destination['identifier']}"))
        return out

    def shared_objects(self, language: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Items and associations of the clusters and the generic behaviour levels."""
        items, associations = [], []
        document = self.document_link(language)
        for sequence, node in enumerate(self.clusters, start=1):
            name = node.text(SKOS + "prefLabel", language)
            definition = node.text(SKOS + "definition", language)
            item = self._item(node, "Cluster", language, definition or name, name[0], node.iri.rpartition("/")[2], None)
            items.append(item)
            associations.append(self._child(item, document, sequence, language))
            associations.extend(self._translation(item, node, language))
        for node in self.levels:
            rank = int(node.values[CKG + "rank"])
            name = node.text(SKOS + "prefLabel", language)
            definition = node.text(SKOS + "definition", language)
            item = self._item(node, "ProficiencyLevel", language, definition or name, name[0], f"level/{rank}", str(rank))
            items.append(item)
            associations.append(self._child(item, document, len(self.clusters) + rank, language))
            associations.extend(self._translation(item, node, language))
        return items, associations

    def competency_objects(self, part: list[Statement], language: str, sequence: int = 1
                           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Items, associations and the rubric of one competency (one part of the graph)."""
        nodes = _nodes(part)
        competency = next(n for n in nodes.values() if CKG + "Competency" in n.types)
        slug = competency.iri.rpartition("/")[2]
        items, associations = [], []
        name = competency.text(SKOS + "prefLabel", language)
        item = self._item(competency, "Competency", language, competency.text(SKOS + "definition", language) or name,
                          name[0], slug, None)
        items.append(item)
        cluster = self.shared.get(competency.link(SKOS + "broader") or competency.link(CKG + "formerCluster") or "")
        parent = self._gen_link(cluster.iri, self._statement_of(cluster, language), language) if cluster else self.document_link(language)
        associations.append(self._child(item, parent, sequence, language))
        associations.extend(self._translation(item, competency, language))
        associations.extend(self._mapping_associations(item, competency))
        associations.extend(self._replacement_associations(item, competency, language))
        competency_link = {**_link(item["fullStatement"], item["identifier"], item["uri"]), "targetType": "CASE"}
        rubric_rows = []
        for level_iri in sorted(competency.links.get(CKG + "hasLevel", []), key=lambda i: int(nodes[i].values[CKG + "rank"])):
            level = nodes[level_iri]
            rank = int(level.values[CKG + "rank"])
            generic = self.shared.get(level.link(CKG + "level") or "")
            level_name = generic.text(SKOS + "prefLabel", language) if generic else None
            level_item = self._item(level, "CompetencyLevel", language, level.text(SKOS + "prefLabel", language),
                                    level_name[0] if level_name else None, f"{slug}/{rank}", str(rank))
            items.append(level_item)
            associations.append(self._child(level_item, competency_link, rank, language))
            if generic:
                origin = {**_link(level_item["fullStatement"], level_item["identifier"], level_item["uri"]), "targetType": "CASE"}
                skill_level = self._gen_link(generic.iri, self._statement_of(generic, language), language)
                associations.append(self._association("hasSkillLevel", origin, skill_level,
                                                      f"{level_item['identifier']} {skill_level['identifier']}"))
            associations.extend(self._translation(level_item, level, language))
            associations.extend(self._mapping_associations(level_item, level))
            associations.extend(self._replacement_associations(level_item, level, language))
            level_link = {**_link(level_item["fullStatement"], level_item["identifier"], level_item["uri"]), "targetType": "CASE"}
            criteria = []
            for criterion_iri in sorted(level.links.get(CKG + "hasCriterion", []),
                                        key=lambda i: int(nodes[i].values[CKG + "position"])):
                criterion = nodes[criterion_iri]
                position = int(criterion.values[CKG + "position"])
                criterion_item = self._item(criterion, "BehaviouralCriterion", language,
                                            criterion.text(CKG + "statement", language), None,
                                            f"{slug}/{rank}/{position}", str(position))
                items.append(criterion_item)
                criteria.append(criterion_item)
                associations.append(self._child(criterion_item, level_link, position, language))
                associations.extend(self._translation(criterion_item, criterion, language))
                associations.extend(self._mapping_associations(criterion_item, criterion))
                associations.extend(self._replacement_associations(criterion_item, criterion, language))
            rubric_rows.append((rank, level_name[0] if level_name else str(rank), level_item, criteria))
        rubric = self._rubric(competency, item, rubric_rows, language)
        return items, associations, [rubric]

    def association_ids(self, part: list[Statement], language: str) -> Iterator[str]:
        """The identifiers of one competency's associations in ``language``, from its IRIs alone.

        Follows the same rules as ``competency_objects`` (origin id, destination id or mapping
        record, type) without making any object, so the API can index associations cheaply; a test
        checks both give the same set.
        """
        nodes = _nodes(part)
        clusters = {n.iri for n in self.clusters}
        parents: dict[str, str] = {}
        for node in nodes.values():
            for criterion in node.links.get(CKG + "hasCriterion", []):
                parents[criterion] = node.iri
            broader = node.link(SKOS + "broader") or node.link(CKG + "formerCluster")
            if broader and (broader in clusters or broader in nodes):
                parents[node.iri] = broader
        kinds = {CKG + "Competency", CKG + "CompetencyLevel", CKG + "BehaviouralCriterion"}
        for node in nodes.values():
            if not node.types & kinds:
                continue
            own = item_id(node.iri, language)
            if node.iri in parents:
                yield derived_id(f"{own} {item_id(parents[node.iri], language)}", "isChildOf")
            generic = node.link(CKG + "level")
            if generic and generic in self.shared:
                yield derived_id(f"{own} {item_id(generic, language)}", "hasSkillLevel")
            if language != SOURCE_LANGUAGE:
                yield derived_id(f"{own} {item_id(node.iri)}", "isTranslationOf")
            for m in self.mappings.get(node.iri, []):
                yield derived_id(f"{own} {m.record}", MAPPING_PREDICATES.get(m.predicate, "isRelatedTo"))
            for target in sorted(node.links.get(DCT + "isReplacedBy", [])):
                yield derived_id(f"{own} {item_id(target, language)}", "replacedBy")

    def _rubric(self, competency: _Node, item: dict[str, Any], rows: list, language: str) -> dict[str, Any]:
        """The seed page's table as a rubric: one criterion (the competency), one level per behaviour level.

        Each level's ``description`` holds that level's behavioural criteria, one per line, word for
        word; ``extensions.criteria`` links each of them to its own CFItem.
        """
        rubric_id = rubric_identifier(competency.iri, language)
        rubric_uri = self.uri("CFRubrics", rubric_id)
        criterion_id = derived_id(language_iri(competency.iri, language), "rubric criterion")
        levels = []
        for rank, level_name, level_item, criteria in rows:
            level_id = derived_id(level_item["identifier"], "rubric level")
            levels.append({
                "identifier": level_id, "uri": f"{rubric_uri}#{level_id}",
                "description": "\n".join(c["fullStatement"] for c in criteria),
                "quality": level_name, "score": rank, "position": rank, "rubricCriterionId": criterion_id,
                "lastChangeDateTime": self.last_change,
                "extensions": [{"CFItemURI": _link(level_item["fullStatement"], level_item["identifier"], level_item["uri"]),
                                "criteria": [{"position": int(c["listEnumeration"]), "fullStatement": c["fullStatement"],
                                              "CFItemURI": _link(c["fullStatement"], c["identifier"], c["uri"])}
                                             for c in criteria]}],
            })
        note = self.scheme.text(SKOS + "scopeNote", language)
        rubric: dict[str, Any] = {"identifier": rubric_id, "uri": rubric_uri, "title": item.get("abbreviatedStatement", item["fullStatement"])}
        if note:
            rubric["description"] = note[0]
        rubric["lastChangeDateTime"] = self.last_change
        rubric["CFRubricCriteria"] = [{
            "identifier": criterion_id, "uri": f"{rubric_uri}#{criterion_id}",
            "category": item["CFItemType"], "description": rubric["title"],
            "CFItemURI": _link(item["fullStatement"], item["identifier"], item["uri"]),
            "position": 1, "rubricId": rubric_id, "lastChangeDateTime": self.last_change,
            "CFRubricCriterionLevels": levels,
        }]
        rubric["extensions"] = {"linkedDataIRI": competency.iri}
        return rubric

    def competency_sequences(self) -> Iterator[tuple[list[Statement], int]]:
        """Each competency part with its place among its cluster's competencies (slug order)."""
        counters: dict[str, int] = defaultdict(int)
        broader, clusters = SKOS + "broader", {n.iri for n in self.clusters}
        for part in self.graph.parts:
            cluster = next((s.object.value for s in part if s.predicate.value in (broader, CKG + "formerCluster")
                            and s.object.value in clusters), "")
            counters[cluster] += 1
            yield part, counters[cluster]

    # ---- the package ----

    def package(self, language: str = SOURCE_LANGUAGE) -> dict[str, Any]:
        """The whole CFPackage in memory (for the service and tests; ``write_package`` streams it)."""
        items, associations = self.shared_objects(language)
        rubrics: list[dict[str, Any]] = []
        for part, sequence in self.competency_sequences():
            i, a, r = self.competency_objects(part, language, sequence)
            items += i
            associations += a
            rubrics += r
        associations += self.document_translation(language)
        return {"CFDocument": self.document(language), "CFItems": items, "CFAssociations": associations,
                "CFDefinitions": self.definitions(language), "CFRubrics": rubrics}

    def document_translation(self, language: str) -> list[dict[str, Any]]:
        """The translated document's ``isTranslationOf`` link to the Dutch one (none for Dutch itself).

        Public because the streaming writer and the CASE API (service/case_api.py) add it too.
        """
        if language == SOURCE_LANGUAGE:
            return []
        origin, source = self.document_link(language), self.document_link(SOURCE_LANGUAGE)
        return [self._association("isTranslationOf", origin, source, f"{origin['identifier']} {source['identifier']}")]


FILE_SUFFIXES = {language: "case.json" if language == SOURCE_LANGUAGE else f"case.{language}.json" for language in LANGUAGES}
"""Release file suffix per language: ``catalogue.case.json`` is the Dutch source, ``catalogue.case.en.json`` its translation."""


def write_files(graph: CatalogueGraph, folder: Path, basename: str) -> dict[str, int]:
    """Write the CFPackage of every language into ``folder``; returns the item count per file suffix."""
    counts = {}
    for language, suffix in FILE_SUFFIXES.items():
        with (Path(folder) / f"{basename}.{suffix}").open("wb") as out:
            counts[f"case-items-{suffix}"] = write_package(graph, out, language)["items"]
    return counts


def dumps(value: Any) -> bytes:
    """Indented JSON with keys in the order built: the same framework always gives the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2)


def write_package(graph: CatalogueGraph, out: BinaryIO, language: str = SOURCE_LANGUAGE) -> dict[str, int]:
    """Stream the CFPackage of ``graph`` in ``language`` to ``out``; returns how many of each object it holds.

    Items are written as each competency is mapped; its associations and rubric are kept as
    bytes in two spill files until the items are done, so memory holds one competency's objects.
    """
    import tempfile

    framework = CaseFramework(graph)
    counts = {"items": 0, "associations": 0, "rubrics": 0}
    indent = lambda data, n: data.replace(b"\n", b"\n" + b" " * n)  # noqa: E731
    with tempfile.TemporaryFile() as spill_associations, tempfile.TemporaryFile() as spill_rubrics:
        out.write(b'{\n  "CFDocument": ' + indent(dumps(framework.document(language)), 2) + b',\n  "CFItems": [')
        separators = {"items": b"\n    ", "associations": b"\n    ", "rubrics": b"\n    "}
        sinks = {"items": out, "associations": spill_associations, "rubrics": spill_rubrics}

        def emit(kind: str, objects: list[dict[str, Any]]) -> None:
            for obj in objects:
                sinks[kind].write(separators[kind] + indent(dumps(obj), 4))
                separators[kind] = b",\n    "
                counts[kind] += 1

        items, associations = framework.shared_objects(language)
        emit("items", items)
        emit("associations", associations)
        for part, sequence in framework.competency_sequences():
            i, a, r = framework.competency_objects(part, language, sequence)
            emit("items", i)
            emit("associations", a)
            emit("rubrics", r)
        emit("associations", framework.document_translation(language))
        out.write(b"\n  ],\n  \"CFAssociations\": [")
        spill_associations.seek(0)
        while block := spill_associations.read(1 << 20):
            out.write(block)
        out.write(b"\n  ],\n  \"CFDefinitions\": " + indent(dumps(framework.definitions(language)), 2))
        out.write(b',\n  "CFRubrics": [')
        spill_rubrics.seek(0)
        while block := spill_rubrics.read(1 << 20):
            out.write(block)
        out.write(b"\n  ]\n}\n")
    return counts
