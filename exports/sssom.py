"""The graph's mapping records written back out as SSSOM/TSV and SSSOM/JSON.

Like every other export this reads only the built graph (never catalog/mappings/ itself), so the
published table always shows the IRIs under the base the graph was built with. One file holds one
mapping set; when the catalogue has several, they are merged into one set ``{base}mappings`` and
the set-level slots that differ between them are moved onto the rows.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TextIO

from linking.sssom import BUILTIN_PREFIXES, write_table
from ontology.graph import CatalogueGraph
from ontology.namespaces import DCT, OWL, PAV, RDF, RDFS, SH, SSSOM, compact

COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "object_label", "mapping_justification",
           "author_id", "author_label", "mapping_date", "confidence", "comment")
SET_SLOTS = {  # SSSOM slot -> (predicate, is an IRI)
    "mapping_set_version": (OWL + "versionInfo", False),
    "mapping_set_title": (DCT + "title", False),
    "mapping_set_description": (DCT + "description", False),
    "license": (DCT + "license", True),
    "subject_source": (SSSOM + "subject_source", True),
    "subject_source_version": (SSSOM + "subject_source_version", False),
    "object_source": (SSSOM + "object_source", True),
    "object_source_version": (SSSOM + "object_source_version", False),
    "mapping_date": (DCT + "created", False),
    "comment": (DCT + "rights", False),  # ESCO's attribution travels with its labels
}
ROW_SLOTS = {  # SSSOM slot -> (predicate, is an IRI, several values)
    "subject_id": (OWL + "annotatedSource", True, False),
    "predicate_id": (OWL + "annotatedProperty", True, False),
    "object_id": (OWL + "annotatedTarget", True, False),
    "mapping_justification": (SSSOM + "mapping_justification", True, False),
    "author_id": (PAV + "authoredBy", True, True),
    "author_label": (SSSOM + "author_label", False, True),
    "mapping_date": (DCT + "created", False, False),
    "confidence": (SSSOM + "confidence", False, False),
    "comment": (RDFS + "comment", False, False),
    "subject_label": (SSSOM + "subject_label", False, False),
    "object_label": (SSSOM + "object_label", False, False),
}


@dataclass
class _Set:
    id: str
    slots: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)


def _by_subject(graph: CatalogueGraph) -> dict[str, dict[str, list]]:
    nodes: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for triple in graph.mappings:  # where the builder puts every set and record; rows are sorted below
        nodes[triple.subject.value][triple.predicate.value].append(triple.object)
    return nodes


def _sets(graph: CatalogueGraph) -> list[_Set]:
    nodes = _by_subject(graph)
    sets = []
    for iri, props in nodes.items():
        if not any(o.value == SSSOM + "MappingSet" for o in props.get(RDF + "type", [])):
            continue
        found = _Set(iri)
        for slot, (predicate, _) in SET_SLOTS.items():
            if props.get(predicate):
                found.slots[slot] = props[predicate][0].value
        for declaration in props.get(SH + "declare", []):
            decl = nodes.get(declaration.value, {})
            if decl.get(SH + "prefix") and decl.get(SH + "namespace"):
                found.prefixes[decl[SH + "prefix"][0].value] = decl[SH + "namespace"][0].value
        for record in props.get(SSSOM + "mappings", []):
            rec = nodes.get(record.value, {})
            row: dict[str, Any] = {}
            for slot, (predicate, _, many) in ROW_SLOTS.items():
                values = [o.value for o in rec.get(predicate, [])]
                if values:
                    row[slot] = sorted(values) if many else values[0]
            found.records.append(row)
        found.records.sort(key=lambda r: (r["subject_id"], r["predicate_id"], r["object_id"], r["mapping_justification"]))
        sets.append(found)
    return sorted(sets, key=lambda s: s.id)


def _dataset_license(graph: CatalogueGraph) -> str | None:
    for triple in graph.shared:
        if triple.subject.value == graph.iris.dataset and triple.predicate.value == DCT + "license":
            return triple.object.value
    return None


def mapping_set(graph: CatalogueGraph) -> _Set:
    """The one set to publish: the catalogue's only set, or all its sets merged under ``{base}mappings``.

    With no mapping set at all the result is an empty set, so a release always has valid SSSOM files.
    """
    sets = _sets(graph)
    if len(sets) == 1:
        return sets[0]
    merged = _Set(graph.iris.base + "mappings")
    for slot in SET_SLOTS:
        values = {s.slots.get(slot) for s in sets}
        if len(values) == 1 and None not in values:
            merged.slots[slot] = values.pop()
    for s in sets:
        merged.prefixes.update(s.prefixes)
        for record in s.records:
            row = dict(record)
            if "license" not in merged.slots and "license" in s.slots:
                row["license"] = s.slots["license"]
            merged.records.append(row)
    if "license" not in merged.slots:
        merged.slots["license"] = _dataset_license(graph) or "https://creativecommons.org/licenses/by/4.0/"
    merged.records.sort(key=lambda r: (r["subject_id"], r["predicate_id"], r["object_id"], r["mapping_justification"]))
    return merged


def _prefixes(found: _Set) -> dict[str, str]:
    return {**BUILTIN_PREFIXES, **found.prefixes}


def _cell(slot: str, value: Any, prefixes: dict[str, str]) -> Any:
    if slot in ("subject_id", "predicate_id", "object_id", "mapping_justification"):
        return compact(value, prefixes)
    if slot == "author_id":
        return [compact(v, prefixes) for v in value]
    if slot == "confidence":
        return float(value)
    return value


def write_tsv(graph: CatalogueGraph, out: TextIO) -> int:
    """Write the mapping set as SSSOM/TSV (metadata block, header, one row per record); returns the rows."""
    return _write_tsv(mapping_set(graph), out)


def _write_tsv(found: _Set, out: TextIO) -> int:
    prefixes = _prefixes(found)
    metadata: dict[str, Any] = {"mapping_set_id": found.id, **found.slots,
                                "curie_map": dict(sorted(found.prefixes.items()))}
    columns = list(COLUMNS) + (["license"] if any("license" in r for r in found.records) else [])

    def text(column: str, value: Any) -> str:
        value = _cell(column, value, prefixes) if value is not None else ""
        return "|".join(value) if isinstance(value, list) else repr(value) if isinstance(value, float) else str(value)

    return write_table(out, metadata, columns, ([text(c, record.get(c)) for c in columns] for record in found.records))


def _document(found: _Set) -> dict[str, Any]:
    """The mapping set as SSSOM/JSON: the set's slots, ``mappings`` as objects, prefixes in ``@context``."""
    prefixes = _prefixes(found)
    mappings = [{slot: _cell(slot, value, prefixes) for slot, value in record.items()} for record in found.records]
    return {"@context": dict(sorted(prefixes.items())), "@type": "MappingSet", "mapping_set_id": found.id,
            **found.slots, "mappings": mappings}


def write_json(graph: CatalogueGraph, out: TextIO) -> int:
    return _write_json(mapping_set(graph), out)


def _write_json(found: _Set, out: TextIO) -> int:
    doc = _document(found)
    json.dump(doc, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return len(doc["mappings"])


TSV_SUFFIX = "sssom.tsv"
JSON_SUFFIX = "sssom.json"


def write_files(graph: CatalogueGraph, folder, basename: str) -> dict[str, int]:
    """Write ``{basename}.sssom.tsv`` and ``{basename}.sssom.json`` into ``folder``; returns the row count."""
    from pathlib import Path

    folder = Path(folder)
    found = mapping_set(graph)
    with (folder / f"{basename}.{TSV_SUFFIX}").open("w", encoding="utf-8", newline="") as out:
        rows = _write_tsv(found, out)
    with (folder / f"{basename}.{JSON_SUFFIX}").open("w", encoding="utf-8") as out:
        _write_json(found, out)
    return {"mappings": rows}
