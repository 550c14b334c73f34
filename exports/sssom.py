"""The graph's mapping records written out as SSSOM/TSV and SSSOM/JSON.

A thin writer: ``linking.sssom_rdf.published_set`` reads the one set to publish back from the
built graph (like every export, never from catalog/mappings/ itself), and ``linking.sssom`` writes
the table format; this module only lays that set out as the two files of a release. It stays in
``exports`` beside the other formats so the release writer finds every format in one place.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from linking.sssom import BUILTIN_PREFIXES, write_table
from linking.sssom_rdf import ROW_SLOTS, PublishedSet, published_set
from ontology.graph import CatalogueGraph
from ontology.namespaces import compact

COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "object_label", "mapping_justification",
           "author_id", "author_label", "mapping_date", "confidence", "comment")
TSV_SUFFIX = "sssom.tsv"
JSON_SUFFIX = "sssom.json"
_KINDS = {slot.name: slot.kind for slot in ROW_SLOTS}


def _prefixes(found: PublishedSet) -> dict[str, str]:
    return {**BUILTIN_PREFIXES, **found.prefixes}


def _cell(slot: str, value: Any, prefixes: dict[str, str]) -> Any:
    """A record's value as SSSOM writes it: IRIs as CURIEs, confidences as numbers."""
    kind = _KINDS.get(slot)
    if kind == "iri":
        return [compact(v, prefixes) for v in value] if isinstance(value, list) else compact(value, prefixes)
    if kind == "double":
        return float(value)
    return value


def write_tsv(graph: CatalogueGraph, out: TextIO) -> int:
    """Write the mapping set as SSSOM/TSV (metadata block, header, one row per record); returns the rows."""
    return _write_tsv(published_set(graph), out)


def _write_tsv(found: PublishedSet, out: TextIO) -> int:
    prefixes = _prefixes(found)
    metadata: dict[str, Any] = {"mapping_set_id": found.id, **found.slots,
                                "curie_map": dict(sorted(found.prefixes.items()))}
    columns = list(COLUMNS) + (["license"] if any("license" in r for r in found.records) else [])

    def text(column: str, value: Any) -> str:
        value = _cell(column, value, prefixes) if value is not None else ""
        return "|".join(value) if isinstance(value, list) else repr(value) if isinstance(value, float) else str(value)

    return write_table(out, metadata, columns, ([text(c, record.get(c)) for c in columns] for record in found.records))


def _document(found: PublishedSet) -> dict[str, Any]:
    """The mapping set as SSSOM/JSON: the set's slots, ``mappings`` as objects, prefixes in ``@context``."""
    prefixes = _prefixes(found)
    mappings = [{slot: _cell(slot, value, prefixes) for slot, value in record.items()} for record in found.records]
    return {"@context": dict(sorted(prefixes.items())), "@type": "MappingSet", "mapping_set_id": found.id,
            **found.slots, "mappings": mappings}


def write_json(graph: CatalogueGraph, out: TextIO) -> int:
    return _write_json(published_set(graph), out)


def _write_json(found: PublishedSet, out: TextIO) -> int:
    doc = _document(found)
    json.dump(doc, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return len(doc["mappings"])


def write_files(graph: CatalogueGraph, folder: Path | str, basename: str) -> dict[str, int]:
    """Write ``{basename}.sssom.tsv`` and ``{basename}.sssom.json`` into ``folder``; returns the row count."""
    folder = Path(folder)
    found = published_set(graph)
    with (folder / f"{basename}.{TSV_SUFFIX}").open("w", encoding="utf-8", newline="") as out:
        rows = _write_tsv(found, out)
    with (folder / f"{basename}.{JSON_SUFFIX}").open("w", encoding="utf-8") as out:
        _write_json(found, out)
    return {"mappings": rows}
