"""Read every written export back with a parser other than the code that wrote it (``ckg export --verify``).

A writer's own bookkeeping can only say what it meant to write; a parser reading the bytes says what
a user will get. Each file is parsed whole and counted:
- N-Triples and JSON-LD are written by our own code (exports/rdf.py, exports/jsonld.py): Oxigraph's
  parsers read them back, the JSON-LD with the context inlined in the file, so nothing is fetched;
- Turtle and RDF/XML are written by Oxigraph's serializer: Oxigraph's separate parser reads them back
  (rdflib would be more independent, but needs minutes and gigabytes on a catalogue of millions of
  triples, which would make ``--verify`` unusable exactly where it matters). Oxigraph's RDF/XML
  parser stops at the last complete element and accepts a file cut off before ``</rdf:RDF>``, so
  the XML is first read by expat (Python's XML parser), which insists on a well-formed document;
- the CSV and the SSSOM TSV by Python's csv module, the SSSOM JSON and the CASE packages by the json
  module (a CASE package is counted by its CFItems; it is read whole, so verifying the packages of a
  very large catalogue needs memory a few times their size).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Callable, Iterator
from xml.parsers import expat

from pyoxigraph import RdfFormat, parse

RDF_FORMATS = {"ttl": RdfFormat.TURTLE, "nt": RdfFormat.N_TRIPLES, "rdf": RdfFormat.RDF_XML,
               "jsonld": RdfFormat.JSON_LD}


def count_triples(path: Path, extension: str) -> int:
    """Triples in an RDF file, by parsing all of it; a syntax error raises SyntaxError."""
    if extension == "rdf":
        check_well_formed_xml(path)
    return sum(1 for _ in parse(path=str(path), format=RDF_FORMATS[extension]))


def check_well_formed_xml(path: Path) -> None:
    """Raise SyntaxError unless ``path`` is one complete, well-formed XML document."""
    parser = expat.ParserCreate()
    try:
        with path.open("rb") as handle:
            parser.ParseFile(handle)
    except expat.ExpatError as error:
        raise SyntaxError(f"not well-formed XML: {error}") from None


def count_csv_rows(path: Path) -> int:
    """Data rows of a CSV file with a header row; every row must have the header's number of fields."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path.name} has no header row")
        return _rows_as_wide_as(header, reader, lambda _: f"{path.name} line {reader.line_num}")


def count_sssom_tsv_rows(path: Path) -> int:
    """Mapping rows of an SSSOM TSV: the '#' metadata block, a header row, then one row per mapping."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if not header or "subject_id" not in header:
        raise ValueError(f"{path.name} has no SSSOM header row (subject_id, predicate_id, object_id, …)")
    return _rows_as_wide_as(header, reader, lambda row: f"{path.name} mapping row {row}")


def _rows_as_wide_as(header: list[str], rows: Iterator[list[str]], where: Callable[[int], str]) -> int:
    """How many ``rows`` there are; the first with another number of fields than ``header`` is an error at ``where(n)``."""
    count = 0
    for count, row in enumerate(rows, 1):
        if len(row) != len(header):
            raise ValueError(f"{where(count)}: {len(row)} fields, the header has {len(header)}")
    return count


def count_sssom_json_rows(path: Path) -> int:
    """Mappings of an SSSOM JSON mapping set."""
    document = json.loads(path.read_text(encoding="utf-8"))
    mappings = document.get("mappings") if isinstance(document, dict) else None
    if not isinstance(mappings, list):
        raise ValueError(f"{path.name} has no 'mappings' list")
    return len(mappings)


def parsed_count(path: Path, extension: str) -> int:
    """What a reader of ``path`` finds: triples of an RDF file, rows of a table, mappings of an SSSOM file."""
    if extension in RDF_FORMATS:
        return count_triples(path, extension)
    if extension == "csv":
        return count_csv_rows(path)
    if extension.startswith("case.") and extension.endswith(".json"):
        return count_case_items(path)
    if extension.endswith(".tsv"):
        return count_sssom_tsv_rows(path)
    if extension.endswith(".json"):
        return count_sssom_json_rows(path)
    raise ValueError(f"no parser to verify {path.name} with")


def count_case_items(path: Path) -> int:
    """CFItems of a CASE 1.1 CFPackage; the package must carry its CFDocument too."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("CFDocument"), dict):
        raise ValueError(f"{path.name} is not a CASE CFPackage (no CFDocument)")
    items = document.get("CFItems")
    if not isinstance(items, list):
        raise ValueError(f"{path.name} has no 'CFItems' list")
    return len(items)
