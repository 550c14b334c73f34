"""Read, check and write SSSOM/TSV mapping sets (``sssom_rdf`` turns them into graph statements and back).

Mapping sets are catalogue data like the YAML, so they get the same treatment: every problem is
reported at once as ``path:line:column: message``, and nothing is built from a file with problems.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence, TextIO

import yaml

from ontology.namespaces import OWL, RDF, RDFS, SEMAPV, SKOS, SSSOM, compact
from ontology.problems import Problem
from ontology.yamldoc import alias_problems

BUILTIN_PREFIXES: dict[str, str] = {
    "owl": OWL, "rdf": RDF, "rdfs": RDFS, "semapv": SEMAPV, "skos": SKOS, "sssom": SSSOM,
}
"""Prefixes every SSSOM file may use without declaring them (the SSSOM specification's built-ins)."""

MAPPING_PREDICATES = tuple(SKOS + name for name in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch"))
JUSTIFICATIONS = tuple(SEMAPV + name for name in (
    "ManualMappingCuration", "MappingReview", "LexicalMatching", "LexicalSimilarityThresholdMatching",
    "SemanticSimilarityThresholdMatching", "LogicalReasoning", "CompositeMatching", "UnspecifiedMatching",
    "MappingChaining", "MappingInversion", "StructuralMatching", "InstanceBasedMatching",
    "BackgroundKnowledgeBasedMatching"))

REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")
REQUIRED_METADATA = ("mapping_set_id", "license")
KNOWN_COLUMNS = frozenset({
    "record_id", "subject_id", "subject_label", "subject_category", "subject_type", "subject_source",
    "subject_source_version", "predicate_id", "predicate_label", "predicate_modifier", "predicate_type",
    "object_id", "object_label", "object_category", "object_type", "object_source", "object_source_version",
    "mapping_justification", "author_id", "author_label", "reviewer_id", "reviewer_label", "creator_id",
    "creator_label", "license", "mapping_provider", "mapping_source", "mapping_cardinality", "cardinality_scope",
    "mapping_tool", "mapping_tool_id", "mapping_tool_version", "mapping_date", "publication_date", "review_date",
    "confidence", "reviewer_agreement", "curation_rule", "curation_rule_text", "subject_match_field",
    "object_match_field", "match_string", "subject_preprocessing", "object_preprocessing", "similarity_score",
    "similarity_measure", "see_also", "issue_tracker_item", "other", "comment",
})
"""The row slots of the SSSOM schema; any other column is most likely a typo."""
ENTITY_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification", "author_id")
LIST_COLUMNS = ("author_id", "author_label")

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_PREFIX_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Mapping:
    """One row of a mapping set, with every entity reference expanded to a full IRI."""

    line: int
    subject: str
    predicate: str
    object: str
    justification: str
    authors: tuple[str, ...] = ()
    author_labels: tuple[str, ...] = ()
    date: str | None = None
    confidence: float | None = None
    comment: str | None = None
    subject_label: str | None = None
    object_label: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.subject, self.predicate, self.object, self.justification


@dataclass
class MappingSet:
    """A checked SSSOM mapping set: its metadata block, its prefixes and its rows."""

    path: str
    id: str
    metadata: dict
    prefixes: dict[str, str]
    mappings: list[Mapping] = field(default_factory=list)

    def record_iri(self, mapping: Mapping) -> str:
        """A stable IRI for one record: the same row always gets the same IRI, whatever its line."""
        digest = hashlib.sha1("\t".join(mapping.key).encode("utf-8")).hexdigest()[:16]
        return f"{self.id.rstrip('/')}/{digest}"

    def rebased(self, old_base: str, new_base: str) -> "MappingSet":
        """The same set for a catalogue published under ``new_base`` instead of ``old_base``."""
        if old_base == new_base:
            return self

        def move(iri: str) -> str:
            return new_base + iri[len(old_base):] if iri.startswith(old_base) else iri

        prefixes = {name: move(ns) for name, ns in self.prefixes.items()}
        metadata = {k: (move(v) if isinstance(v, str) else v) for k, v in self.metadata.items()}
        metadata["curie_map"] = {k: v for k, v in prefixes.items() if k not in BUILTIN_PREFIXES or v != BUILTIN_PREFIXES[k]}
        mappings = [replace(m, subject=move(m.subject), authors=tuple(move(a) for a in m.authors)) for m in self.mappings]
        return MappingSet(self.path, move(self.id), metadata, prefixes, mappings)


def _expand(value: str, prefixes: dict[str, str]) -> tuple[str | None, str | None]:
    """The full IRI of a CURIE or IRI, or ``(None, reason)`` saying what is wrong with it."""
    if not value:
        return None, "empty value"
    if _ABSOLUTE.match(value):
        return (value, None) if _IRI.match(value) else (None, f"malformed IRI '{value}'")
    prefix, colon, local = value.partition(":")
    if not colon:
        return None, f"malformed IRI '{value}': neither a CURIE (prefix:local) nor an absolute IRI"
    if prefix not in prefixes:
        return None, f"unknown prefix '{prefix}' in '{value}'"
    iri = prefixes[prefix] + local
    if not _IRI.match(iri) or not local:
        return None, f"malformed IRI '{value}' (expands to '{iri}')"
    return iri, None


def _metadata(lines: list[str], shown: str, problems: list[Problem]) -> dict | None:
    """Parse the ``#``-prefixed YAML block; positions in YAML errors are mapped back to file lines."""
    text = "\n".join(line[1:] for line in lines)
    bounds = alias_problems(text, shown, column_offset=1)  # a few nested aliases stand for billions of values
    if bounds:
        problems.extend(bounds)
        return None
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(error, "problem", None) or "not valid YAML"
        problems.append(Problem(shown, line, 1, f"metadata block: {reason}",
                                "'# key: value' lines of YAML before the header row"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(shown, 1, 1, "metadata block is not a mapping of keys to values",
                                "'# key: value' lines such as '# mapping_set_id: https://…'"))
        return None
    return data


def _key_line(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, start=1):
        if re.match(rf"^#\s*{re.escape(key)}\s*:", line):
            return number
    return 1


def _prefixes(data: dict, lines: list[str], shown: str, problems: list[Problem]) -> dict[str, str]:
    prefixes = dict(BUILTIN_PREFIXES)
    curie_map = data.get("curie_map") or {}
    line = _key_line(lines, "curie_map")
    if not isinstance(curie_map, dict):
        problems.append(Problem(shown, line, 1, "curie_map is not a mapping of prefixes to namespaces",
                                "'#   prefix: http://…/' lines under '# curie_map:'"))
        return prefixes
    for name, namespace in curie_map.items():
        at = _key_line(lines, str(name)) if str(name) != "curie_map" else line
        if not isinstance(name, str) or not _PREFIX_NAME.match(name):
            problems.append(Problem(shown, at, 1, f"curie_map: '{name}' is not a valid prefix name", "letters, digits, '_', '-', '.'"))
        elif not isinstance(namespace, str) or not _IRI.match(namespace):
            problems.append(Problem(shown, at, 1, f"curie_map: namespace of '{name}' is not an IRI: {namespace!r}", "an absolute IRI such as http://data.europa.eu/esco/"))
        else:
            prefixes[name] = namespace
    return prefixes


def read_mapping_set(path: Path | str, shown: str | None = None) -> tuple[MappingSet | None, list[Problem]]:
    """Read and check one SSSOM/TSV file on its own; the set is ``None`` if it has problems."""
    path = Path(path)
    shown = shown or str(path)
    problems: list[Problem] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(shown, 1, 1, f"cannot read mapping set: {error}", "a UTF-8 SSSOM/TSV file")]
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    meta_lines = lines[:head]
    data = _metadata(meta_lines, shown, problems)
    if data is None:
        return None, problems
    for key in REQUIRED_METADATA:
        if not data.get(key):
            problems.append(Problem(shown, 1, 1, f"metadata block lacks '{key}'", f"a line '# {key}: …' (required by SSSOM)"))
    prefixes = _prefixes(data, meta_lines, shown, problems)
    set_id = data.get("mapping_set_id")
    for key in ("mapping_set_id", "license", "subject_source", "object_source"):
        value = data.get(key)
        if value and (not isinstance(value, str) or not _ABSOLUTE.match(value) or not _IRI.match(value)):
            problems.append(Problem(shown, _key_line(meta_lines, key), 1, f"{key} is not an absolute IRI: {value!r}", "e.g. https://…"))

    if head >= len(lines) or not lines[head].strip():
        problems.append(Problem(shown, head + 1, 1, "header row is missing", "a tab-separated header such as 'subject_id\tpredicate_id\tobject_id\tmapping_justification'"))
        return None, problems
    header_line = head + 1
    columns = lines[head].split("\t")
    for index, column in enumerate(columns):
        if column not in KNOWN_COLUMNS:
            problems.append(Problem(shown, header_line, _column_start(columns, index), f"unknown column '{column}'", "a slot of the SSSOM mapping class, e.g. subject_label, confidence, comment"))
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    for column in missing:
        problems.append(Problem(shown, header_line, 1, f"required column '{column}' is missing", "the columns " + ", ".join(REQUIRED_COLUMNS)))
    if missing or len(set(columns)) != len(columns):
        if len(set(columns)) != len(columns):
            problems.append(Problem(shown, header_line, 1, "a column name appears twice", "each column once"))
        return None, problems

    mappings: list[Mapping] = []
    seen: dict[tuple, int] = {}
    for number, text in enumerate(lines[head + 1:], start=header_line + 1):
        if not text.strip():
            continue
        values = text.split("\t")
        if len(values) != len(columns):
            problems.append(Problem(shown, number, 1, f"row has {len(values)} fields, the header has {len(columns)}", "one tab-separated value per column (no tabs inside values)"))
            continue
        mapping = _row(dict(zip(columns, values)), columns, number, prefixes, shown, problems)
        if mapping is None:
            continue
        if mapping.key in seen:
            problems.append(Problem(shown, number, 1, f"duplicate row: same subject, predicate, object and justification as line {seen[mapping.key]}", "one row per mapping"))
            continue
        seen[mapping.key] = number
        mappings.append(mapping)
    if problems:
        return None, problems
    metadata = {k: v for k, v in data.items()}
    return MappingSet(shown, set_id, metadata, prefixes, mappings), []


def _column_start(values: list[str], index: int) -> int:
    return sum(len(v) + 1 for v in values[:index]) + 1


def _row(row: dict[str, str], columns: list[str], number: int, prefixes: dict[str, str], shown: str,
         problems: list[Problem]) -> Mapping | None:
    before = len(problems)
    values = list(row.values())

    def col(name: str) -> int:
        return _column_start(values, columns.index(name))

    def entity(name: str) -> str | None:
        iri, reason = _expand(row[name].strip(), prefixes)
        if reason:
            problems.append(Problem(shown, number, col(name), f"{name}: {reason}", _hint(name)))
        return iri

    subject, predicate, obj, justification = (entity(name) for name in REQUIRED_COLUMNS)
    if predicate and predicate not in MAPPING_PREDICATES:
        problems.append(Problem(shown, number, col("predicate_id"), f"predicate_id: '{row['predicate_id']}' is not a SKOS mapping property",
                                "one of skos:exactMatch, skos:closeMatch, skos:broadMatch, skos:narrowMatch, skos:relatedMatch"))
    if justification and justification not in JUSTIFICATIONS:
        problems.append(Problem(shown, number, col("mapping_justification"), f"mapping_justification: '{row['mapping_justification']}' is not a semapv justification",
                                "e.g. semapv:ManualMappingCuration, semapv:LexicalMatching"))
    authors: list[str] = []
    for value in _split(row.get("author_id", "")):
        iri, reason = _expand(value, prefixes)
        if reason:
            problems.append(Problem(shown, number, col("author_id"), f"author_id: {reason}", _hint("author_id")))
        else:
            authors.append(iri)
    confidence = None
    if row.get("confidence", "").strip():
        try:
            confidence = float(row["confidence"])
        except ValueError:
            confidence = -1.0
        if not 0.0 <= confidence <= 1.0:
            problems.append(Problem(shown, number, col("confidence"), f"confidence: '{row['confidence']}' is not a number from 0 to 1", "e.g. 0.8"))
    date = row.get("mapping_date", "").strip() or None
    if date:
        try:
            _dt.date.fromisoformat(date)
        except ValueError:
            problems.append(Problem(shown, number, col("mapping_date"), f"mapping_date: '{date}' is not a date", "YYYY-MM-DD"))
    if len(problems) > before:
        return None
    return Mapping(number, subject, predicate, obj, justification, tuple(authors), tuple(_split(row.get("author_label", ""))),
                   date, confidence, row.get("comment", "").strip() or None,
                   row.get("subject_label", "").strip() or None, row.get("object_label", "").strip() or None)


def _split(value: str) -> list[str]:
    """SSSOM/TSV writes several values in one cell separated by '|'."""
    return [part.strip() for part in value.split("|") if part.strip()]


def _hint(column: str) -> str:
    return {"subject_id": "a CURIE with a prefix from curie_map, e.g. kg:competency/klantgerichtheid",
            "object_id": "a CURIE with a prefix from curie_map, e.g. ESCO:skill/<uuid>",
            "predicate_id": "e.g. skos:closeMatch",
            "mapping_justification": "e.g. semapv:ManualMappingCuration",
            "author_id": "a CURIE or IRI of the author (several separated by '|')"}.get(column, "")


def check_subjects(mapping_set: MappingSet, known: set[str]) -> list[Problem]:
    """Problems for rows whose subject is no competency, competency level or criterion of the catalogue."""
    return [Problem(mapping_set.path, m.line, 1, f"unknown subject '{compact(m.subject, mapping_set.prefixes)}' ({m.subject}): not a competency, competency level or criterion of this catalogue",
                    "the IRI of something the catalogue defines, e.g. kg:competency/<slug>/level/<n>/criterion/<i>")
            for m in mapping_set.mappings if m.subject not in known]


def load_mapping_sets(folder: Path | str, shown: str, known: set[str], base: str) -> tuple[list[MappingSet], list[Problem]]:
    """Every ``*.sssom.tsv`` in ``folder``, rebased onto ``base`` and checked against the ``known`` subjects."""
    folder = Path(folder)
    sets: list[MappingSet] = []
    problems: list[Problem] = []
    if not folder.is_dir():
        return sets, problems
    ids: dict[str, str] = {}
    for file in sorted(folder.glob("*.sssom.tsv")):
        mapping_set, file_problems = read_mapping_set(file, f"{shown}/{file.name}")
        problems.extend(file_problems)
        if mapping_set is None:
            continue
        source = mapping_set.metadata.get("subject_source")
        if isinstance(source, str) and source.endswith("/"):
            mapping_set = mapping_set.rebased(source, base)
        if mapping_set.id in ids:
            problems.append(Problem(mapping_set.path, _key_line_file(file, "mapping_set_id"), 1,
                                    f"mapping_set_id {mapping_set.id} is also used by {ids[mapping_set.id]}", "a distinct IRI per mapping set"))
            continue
        ids[mapping_set.id] = mapping_set.path
        problems.extend(check_subjects(mapping_set, known))
        sets.append(mapping_set)
    return sets, problems


def write_table(out: TextIO, metadata: dict, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Write SSSOM/TSV: the metadata as a ``# ``-prefixed YAML block, the header, one line per row.

    Tabs and line breaks inside a cell become spaces, so each row stays one line of the table.
    Returns the number of rows.
    """
    block = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=10_000)
    out.write("".join(f"# {line}\n" for line in block.splitlines()))
    out.write("\t".join(columns) + "\n")
    count = 0
    for row in rows:
        out.write("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row) + "\n")
        count += 1
    return count


def _key_line_file(path: Path, key: str) -> int:
    return _key_line(path.read_text(encoding="utf-8").splitlines(), key)
