"""SSSOM's RDF form, both ways: mapping sets into graph statements, and the graph's records back into one set.

In the graph each row becomes two things (SSSOM's own RDF form, see the ``sssom_schema``):

* the direct link ``subject skos:closeMatch object``, for SKOS-only users;
* a mapping record, an ``owl:Axiom`` with ``owl:annotatedSource/Property/Target`` and the row's
  provenance (``sssom:mapping_justification``, ``pav:authoredBy``, ``sssom:confidence``, …), so a
  SPARQL user can filter by justification, author or confidence.

Records get IRIs (``{mapping_set_id}/{digest of subject, predicate, object, justification}``),
never blank nodes, so every export of the graph stays byte-for-byte deterministic.

The published SSSOM files are read back from the graph (never from ``catalog/mappings/``), so they
show the IRIs under the base the graph was built with. One table of slots serves both directions:
a slot is written into the graph and read back by the same (predicate, kind), so the two cannot
drift apart.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from pyoxigraph import Literal, NamedNode, Triple

from ontology.graph import CatalogueGraph
from ontology.namespaces import DCT, OWL, PAV, RDF, RDFS, SH, SSSOM, XSD

from .frameworks import attribution_for
from .sssom import BUILTIN_PREFIXES, Mapping, MappingSet


@dataclass(frozen=True)
class Slot:
    """One SSSOM slot and how it is stated in RDF."""

    name: str
    predicate: str
    kind: str = "plain"
    """``iri``, ``en`` (English text), ``plain``, ``date`` (xsd:date) or ``double`` (xsd:double)."""
    many: bool = False


SET_SLOTS = (  # in the order the published metadata block lists them
    Slot("mapping_set_version", OWL + "versionInfo"),
    Slot("mapping_set_title", DCT + "title", "en"),
    Slot("mapping_set_description", DCT + "description", "en"),
    Slot("license", DCT + "license", "iri"),
    Slot("subject_source", SSSOM + "subject_source", "iri"),
    Slot("subject_source_version", SSSOM + "subject_source_version"),
    Slot("object_source", SSSOM + "object_source", "iri"),
    Slot("object_source_version", SSSOM + "object_source_version"),
    Slot("mapping_date", DCT + "created", "date"),
)
RIGHTS = Slot("comment", DCT + "rights", "en")
"""The attribution the linked frameworks require: stated on the set, published as its comment."""
ROW_SLOTS = (
    Slot("subject_id", OWL + "annotatedSource", "iri"),
    Slot("predicate_id", OWL + "annotatedProperty", "iri"),
    Slot("object_id", OWL + "annotatedTarget", "iri"),
    Slot("mapping_justification", SSSOM + "mapping_justification", "iri"),
    Slot("author_id", PAV + "authoredBy", "iri", many=True),
    Slot("author_label", SSSOM + "author_label", many=True),
    Slot("mapping_date", DCT + "created", "date"),
    Slot("confidence", SSSOM + "confidence", "double"),
    Slot("comment", RDFS + "comment", "en"),
    Slot("subject_label", SSSOM + "subject_label"),
    Slot("object_label", SSSOM + "object_label"),
)
_DATATYPES = {"date": NamedNode(XSD + "date"), "double": NamedNode(XSD + "double")}


def _term(slot: Slot, value: Any) -> NamedNode | Literal:
    if slot.kind == "iri":
        return NamedNode(str(value))
    if slot.kind == "en":
        return Literal(str(value), language="en")
    if slot.kind == "double":
        return Literal(repr(value), datatype=_DATATYPES["double"])
    if slot.kind in _DATATYPES:
        return Literal(str(value), datatype=_DATATYPES[slot.kind])
    return Literal(str(value))


def _row_values(m: Mapping) -> dict[str, Any]:
    return {"subject_id": m.subject, "predicate_id": m.predicate, "object_id": m.object,
            "mapping_justification": m.justification, "author_id": m.authors, "author_label": m.author_labels,
            "mapping_date": m.date, "confidence": m.confidence, "comment": m.comment,
            "subject_label": m.subject_label, "object_label": m.object_label}


def _stated(slot: Slot, value: Any) -> list[Any]:
    """The values of ``slot`` to state: none for an empty cell (a confidence of 0.0 is a value)."""
    if slot.many:
        return list(value or ())
    return [] if value is None or value == "" else [value]


def direct_triples(sets: Iterable[MappingSet]) -> list[Triple]:
    """The plain SKOS links, one per row (a link stated by two sets is still one triple)."""
    return sorted({Triple(NamedNode(m.subject), NamedNode(m.predicate), NamedNode(m.object)) for s in sets for m in s.mappings},
                  key=lambda t: (t.subject.value, t.predicate.value, t.object.value))


def record_triples(sets: Iterable[MappingSet]) -> list[Triple]:
    """The mapping sets and their records, in SSSOM's RDF vocabulary (owl:Axiom + sssom/pav/dcterms slots)."""
    triples: list[Triple] = []

    def add(subject: NamedNode, predicate: str, obj: NamedNode | Literal) -> None:
        triples.append(Triple(subject, NamedNode(predicate), obj))

    for s in sets:
        node = NamedNode(s.id)
        add(node, RDF + "type", NamedNode(SSSOM + "MappingSet"))
        for slot in SET_SLOTS:
            for value in _stated(slot, s.metadata.get(slot.name) or None):
                add(node, slot.predicate, _term(slot, value))
        attribution = attribution_for(m.object for m in s.mappings)
        if attribution:  # the linked frameworks' reuse conditions travel with the set
            add(node, RIGHTS.predicate, _term(RIGHTS, attribution))
        for name, namespace in sorted(s.prefixes.items()):
            if BUILTIN_PREFIXES.get(name) == namespace:
                continue
            declaration = NamedNode(f"{s.id.rstrip('/')}/prefix/{name}")
            add(node, SH + "declare", declaration)
            add(declaration, SH + "prefix", Literal(name))
            add(declaration, SH + "namespace", Literal(namespace, datatype=NamedNode(XSD + "anyURI")))
        for m in s.mappings:
            record = NamedNode(s.record_iri(m))
            add(node, SSSOM + "mappings", record)
            add(record, RDF + "type", NamedNode(OWL + "Axiom"))
            values = _row_values(m)
            for slot in ROW_SLOTS:
                for value in _stated(slot, values[slot.name]):
                    add(record, slot.predicate, _term(slot, value))
    return triples


@dataclass
class PublishedSet:
    """A mapping set as the graph states it: the set's slots, its prefixes, and one dict per record."""

    id: str
    slots: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)


def _record_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    return record["subject_id"], record["predicate_id"], record["object_id"], record["mapping_justification"]


def _sets(graph: CatalogueGraph) -> list[PublishedSet]:
    nodes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for triple in graph.mappings:  # where the builder puts every set and record; rows are sorted below
        nodes[triple.subject.value][triple.predicate.value].append(triple.object)
    sets = []
    for iri, props in nodes.items():
        if not any(o.value == SSSOM + "MappingSet" for o in props.get(RDF + "type", [])):
            continue
        found = PublishedSet(iri)
        for slot in (*SET_SLOTS, RIGHTS):
            if props.get(slot.predicate):
                found.slots[slot.name] = props[slot.predicate][0].value
        for declaration in props.get(SH + "declare", []):
            decl = nodes.get(declaration.value, {})
            if decl.get(SH + "prefix") and decl.get(SH + "namespace"):
                found.prefixes[decl[SH + "prefix"][0].value] = decl[SH + "namespace"][0].value
        for record in props.get(SSSOM + "mappings", []):
            rec = nodes.get(record.value, {})
            row: dict[str, Any] = {}
            for slot in ROW_SLOTS:
                values = [o.value for o in rec.get(slot.predicate, [])]
                if values:
                    row[slot.name] = sorted(values) if slot.many else values[0]
            found.records.append(row)
        found.records.sort(key=_record_key)
        sets.append(found)
    return sorted(sets, key=lambda s: s.id)


def _dataset_license(graph: CatalogueGraph) -> str | None:
    for triple in graph.shared:
        if triple.subject.value == graph.iris.dataset and triple.predicate.value == DCT + "license":
            return triple.object.value
    return None


def published_set(graph: CatalogueGraph) -> PublishedSet:
    """The one set to publish: the catalogue's only set, or all its sets merged under ``{base}mappings``.

    Set-level slots that differ between merged sets are dropped from the set (the licence moves
    onto the rows). With no mapping set at all the result is an empty set, so a release always has
    valid SSSOM files.
    """
    sets = _sets(graph)
    if len(sets) == 1:
        return sets[0]
    merged = PublishedSet(graph.iris.base + "mappings")
    for slot in (*SET_SLOTS, RIGHTS):
        values = {s.slots.get(slot.name) for s in sets}
        if len(values) == 1 and None not in values:
            merged.slots[slot.name] = values.pop()
    for s in sets:
        merged.prefixes.update(s.prefixes)
        for record in s.records:
            row = dict(record)
            if "license" not in merged.slots and "license" in s.slots:
                row["license"] = s.slots["license"]
            merged.records.append(row)
    if "license" not in merged.slots:
        merged.slots["license"] = _dataset_license(graph) or "https://creativecommons.org/licenses/by/4.0/"
    merged.records.sort(key=_record_key)
    return merged
