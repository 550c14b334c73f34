"""Import ESCO from its official downloads into its own named graph, and load that graph into a store.

ESCO (the European Commission's classification of skills, competences and occupations) is
published as CSV zips per language and as an RDF dump. Both are turned into the same small SKOS +
ESCO-model picture, so a query works whichever download it was built from:

* skills, skill groups, occupations, ISCO groups: ``skos:Concept`` (plus ``esco:Skill`` /
  ``esco:Occupation``), ``skos:prefLabel``/``altLabel``/``hiddenLabel``, ``dct:description``,
  ``skos:definition``/``scopeNote``, ``skos:inScheme``, ``skos:broader``;
* ``esco:skillType`` and ``esco:skillReuseLevel`` as ESCO's own IRIs for those values;
* the publication status (``released``/``obsolete``) as ESCO writes it, ``iso-thes:status``;
* occupations with ``esco:hasEssentialSkill`` / ``esco:hasOptionalSkill`` when the relations are given;
* the concept schemes with their labels and top concepts.

Everything goes, as a stream, into one named graph written as N-Quads or TriG, which the service
bulk-loads at start-up (``load_esco_into``). The graph carries ESCO's attribution
(``linking.frameworks``), which must be shown wherever ESCO content is.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Store, parse, serialize

from ontology.namespaces import DCAT, DCT, OWL, RDF, SKOS, XSD, compact
from ontology.problems import Problem

from .frameworks import ESCO, ESCO_FRAMEWORK
from .sssom import MappingSet

ESCO_MODEL = "http://data.europa.eu/esco/model#"
ISO_THES = "http://purl.org/iso25964/skos-thes#"
SKOSXL = "http://www.w3.org/2008/05/skos-xl#"
ESCO_GRAPH = "https://w3id.org/competency-kg/graph/esco"
"""Default name of the graph ESCO is imported into: apart from the catalogue, under our own IRIs."""
ATTRIBUTION = ESCO_FRAMEWORK.attribution
STATUS = ISO_THES + "status"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class EscoImportError(Exception):
    """An input that is not an ESCO download we can read; the message says what was expected."""


@cache
def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


def _en(text: str, language: str) -> Literal:
    return Literal(text, language=language)


@dataclass
class ImportStats:
    """What an import wrote, for the progress report and the benchmark."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quads: int = 0
    version: str | None = None

    def summary(self) -> str:
        parts = ", ".join(f"{n:,} {what}" for what, n in sorted(self.counts.items()))
        return f"{self.quads:,} quads ({parts})"


# ---------------------------------------------------------------------------------------------
# Inputs: zips, folders or single files, found by their official file names
# ---------------------------------------------------------------------------------------------

_CSV_NAME = re.compile(r"^(?P<kind>skills|occupations|skillGroups|ISCOGroups|conceptSchemes)_(?P<lang>[a-z]{2,3})\.csv$")
_RELATION_NAMES = ("broaderRelationsSkillPillar.csv", "broaderRelationsOccPillar.csv", "occupationSkillRelations.csv")
_RDF_FORMATS = {".ttl": RdfFormat.TURTLE, ".nt": RdfFormat.N_TRIPLES, ".nq": RdfFormat.N_QUADS,
                ".trig": RdfFormat.TRIG, ".rdf": RdfFormat.RDF_XML, ".owl": RdfFormat.RDF_XML}
_VERSION = re.compile(r"v(\d+(?:\.\d+)+)")


@dataclass(frozen=True)
class _Member:
    """One file of an ESCO download, wherever it sits (zip member or plain file)."""

    name: str
    source: Path
    member: str | None = None

    def open(self) -> BinaryIO:
        if self.member is None:
            return self.source.open("rb")
        return zipfile.ZipFile(self.source).open(self.member)


def _members(paths: Iterable[Path]) -> list[_Member]:
    found: list[_Member] = []
    for path in paths:
        if path.is_dir():
            found.extend(_Member(p.name, p) for p in sorted(path.iterdir()) if p.is_file())
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found.extend(_Member(Path(n).name, path, n) for n in archive.namelist() if not n.endswith("/"))
        elif path.is_file():
            found.append(_Member(path.name, path))
        else:
            raise EscoImportError(f"{path}: no such file or folder")
    return found


def _rdf_format(name: str) -> RdfFormat | None:
    suffixes = [s for s in Path(name).suffixes if s != ".gz"]
    return _RDF_FORMATS.get(suffixes[-1]) if suffixes else None


def _version(paths: Iterable[Path]) -> str | None:
    for path in paths:
        match = _VERSION.search(path.name)
        if match:
            return match.group(1)
    return None


# ---------------------------------------------------------------------------------------------
# CSV download
# ---------------------------------------------------------------------------------------------

def _rows(member: _Member) -> Iterator[dict[str, str]]:
    csv.field_size_limit(1 << 30)  # conceptSchemes_*.csv lists thousands of top concepts in one cell
    with member.open() as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))


def _values(cell: str | None) -> list[str]:
    """Several values in one CSV cell are written one per line (IRIs also end with a comma)."""
    return [v.strip().rstrip(",").strip() for v in (cell or "").split("\n") if v.strip().rstrip(",").strip()]


_SKILL_TYPES = {"skill/competence": "skill", "knowledge": "knowledge"}


class _Quads:
    """Builds quads in one graph, counting them."""

    def __init__(self, graph: NamedNode, stats: ImportStats):
        self.graph = graph
        self.stats = stats
        self.buffer: list[Quad] = []

    def add(self, s: NamedNode, p: str, o: NamedNode | Literal) -> None:
        self.buffer.append(Quad(s, _n(p), o, self.graph))

    def drain(self) -> list[Quad]:
        out, self.buffer = self.buffer, []
        self.stats.quads += len(out)
        return out


def _concept(q: _Quads, row: dict[str, str], uri_key: str, language: str, classes: tuple[str, ...]) -> NamedNode:
    node = _n(row[uri_key])
    for cls in classes:
        q.add(node, RDF + "type", _n(cls))
    if row.get("preferredLabel"):
        q.add(node, SKOS + "prefLabel", _en(row["preferredLabel"].strip(), language))
    for key, predicate in (("altLabels", SKOS + "altLabel"), ("hiddenLabels", SKOS + "hiddenLabel")):
        for label in dict.fromkeys(_values(row.get(key))):
            q.add(node, predicate, _en(label, language))
    for key, predicate in (("description", DCT + "description"), ("definition", SKOS + "definition"),
                           ("scopeNote", SKOS + "scopeNote")):
        if (row.get(key) or "").strip():
            q.add(node, predicate, _en(row[key].strip(), language))
    for scheme in _values(row.get("inScheme")):
        q.add(node, SKOS + "inScheme", _n(scheme))
    if row.get("status"):
        q.add(node, STATUS, Literal(row["status"].strip()))
    if row.get("code"):
        q.add(node, SKOS + "notation", Literal(row["code"].strip()))
    if row.get("modifiedDate"):
        q.add(node, DCT + "modified", Literal(row["modifiedDate"].strip(), datatype=_n(XSD + "dateTime")))
    return node


def _csv_quads(member: _Member, kind: str, language: str, q: _Quads) -> Iterator[Quad]:
    count = 0
    for row in _rows(member):
        count += 1
        if kind == "skills":
            node = _concept(q, row, "conceptUri", language, (SKOS + "Concept", ESCO_MODEL + "Skill"))
            skill_type = _SKILL_TYPES.get(row.get("skillType", ""))
            if skill_type:
                q.add(node, ESCO_MODEL + "skillType", _n(f"{ESCO}skill-type/{skill_type}"))
            if row.get("reuseLevel"):
                q.add(node, ESCO_MODEL + "skillReuseLevel", _n(f"{ESCO}skill-reuse-level/{row['reuseLevel']}"))
        elif kind == "occupations":
            node = _concept(q, row, "conceptUri", language, (SKOS + "Concept", ESCO_MODEL + "Occupation"))
            if row.get("iscoGroup"):
                q.add(node, ESCO_MODEL + "iscoGroupCode", Literal(row["iscoGroup"]))
            if (row.get("regulatedProfessionNote") or "").strip():
                q.add(node, ESCO_MODEL + "regulatedProfessionNote", _n(row["regulatedProfessionNote"].strip())
                      if row["regulatedProfessionNote"].startswith("http") else _en(row["regulatedProfessionNote"].strip(), language))
        elif kind == "skillGroups":
            _concept(q, row, "conceptUri", language, (SKOS + "Concept", ESCO_MODEL + "Skill"))
        elif kind == "ISCOGroups":
            _concept(q, row, "conceptUri", language, (SKOS + "Concept", ESCO_MODEL + "ISCOGroup"))
        elif kind == "conceptSchemes":
            node = _n(row["conceptSchemeUri"])
            q.add(node, RDF + "type", _n(SKOS + "ConceptScheme"))
            for key, predicate in (("preferredLabel", SKOS + "prefLabel"), ("title", DCT + "title"),
                                   ("description", DCT + "description")):
                if (row.get(key) or "").strip():
                    q.add(node, predicate, _en(row[key].strip(), language))
            if row.get("status"):
                q.add(node, STATUS, Literal(row["status"]))
            for top in _values(row.get("hasTopConcept")):
                q.add(node, SKOS + "hasTopConcept", _n(top))
        if len(q.buffer) >= 50_000:
            yield from q.drain()
    q.stats.counts[kind] += count
    yield from q.drain()


def _relation_quads(member: _Member, q: _Quads) -> Iterator[Quad]:
    count = 0
    if member.name == "occupationSkillRelations.csv":
        predicates = {"essential": ESCO_MODEL + "hasEssentialSkill", "optional": ESCO_MODEL + "hasOptionalSkill"}
        for row in _rows(member):
            predicate = predicates.get(row["relationType"])
            if predicate is None:
                raise EscoImportError(f"{member.name}: unknown relationType {row['relationType']!r} (expected essential or optional)")
            q.add(_n(row["occupationUri"]), predicate, _n(row["skillUri"]))
            count += 1
            if len(q.buffer) >= 50_000:
                yield from q.drain()
        q.stats.counts["occupation-skill relations"] += count
    else:
        for row in _rows(member):
            q.add(_n(row["conceptUri"]), SKOS + "broader", _n(row["broaderUri"]))
            count += 1
            if len(q.buffer) >= 50_000:
                yield from q.drain()
        q.stats.counts["broader relations"] += count
    yield from q.drain()


# ---------------------------------------------------------------------------------------------
# RDF dump
# ---------------------------------------------------------------------------------------------

def _rdf_quads(member: _Member, languages: frozenset[str], q: _Quads) -> Iterator[Quad]:
    """ESCO's RDF dump, kept to the wanted languages and with no blank nodes left.

    The dump writes descriptions as blank ``esco:NodeLiteral`` nodes (text + language); those are
    turned into plain language-tagged literals. SKOS-XL label resources are dropped (the plain SKOS
    labels are in the dump too). Any other blank-node statement is dropped, so exports stay stable.
    """
    rdf_format = _rdf_format(member.name)
    links: list[tuple[NamedNode, NamedNode, BlankNode]] = []
    texts: dict[BlankNode, str] = {}
    langs: dict[BlankNode, str] = {}
    with member.open() as raw:
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if member.name.endswith(".gz") else raw
        for item in parse(input=stream, format=rdf_format, lenient=True):
            s, p, o = item.subject, item.predicate, item.object
            if p.value.startswith(SKOSXL) or o.value.startswith(SKOSXL):
                continue
            if isinstance(s, BlankNode):
                if p.value == ESCO_MODEL + "nodeLiteral" and isinstance(o, Literal):
                    texts[s] = o.value
                    if o.language:
                        langs.setdefault(s, o.language)
                elif p.value == ESCO_MODEL + "language" and isinstance(o, Literal):
                    langs[s] = o.value
                continue
            if isinstance(o, BlankNode):
                links.append((s, p, o))
                continue
            if isinstance(o, Literal) and o.language and o.language.split("-")[0] not in languages:
                continue
            if p.value == RDF + "type" and o.value == ESCO_MODEL + "Skill":
                q.stats.counts["skills (incl. groups)"] += 1
            elif p.value == RDF + "type" and o.value == ESCO_MODEL + "Occupation":
                q.stats.counts["occupations"] += 1
            q.add(s, p.value, o)
            if len(q.buffer) >= 50_000:
                yield from q.drain()
    for s, p, blank in links:
        language = langs.get(blank)
        if blank in texts and language and language.split("-")[0] in languages:
            q.add(s, p.value, _en(texts[blank], language))
    yield from q.drain()


# ---------------------------------------------------------------------------------------------
# The import
# ---------------------------------------------------------------------------------------------

def _header_quads(q: _Quads, version: str | None, sources: list[str]) -> list[Quad]:
    graph = q.graph
    q.add(graph, RDF + "type", _n(DCAT + "Dataset"))
    q.add(graph, DCT + "title", _en(f"ESCO{' v' + version if version else ''}: European Skills, Competences, Qualifications and Occupations", "en"))
    q.add(graph, DCT + "rights", _en(ATTRIBUTION, "en"))
    q.add(graph, DCT + "publisher", _n("http://publications.europa.eu/resource/authority/corporate-body/EMPL"))
    q.add(graph, DCT + "license", _n(ESCO_FRAMEWORK.licence))
    q.add(graph, DCT + "source", _n(ESCO_FRAMEWORK.homepage))
    if version:
        q.add(graph, OWL + "versionInfo", Literal(version))
    for name in sources:
        q.add(graph, DCT + "description", Literal(f"imported from {name}"))
    return q.drain()


def esco_quads(paths: Iterable[Path | str], *, graph: str = ESCO_GRAPH, languages: Iterable[str] = ("en",),
               progress: Progress = _quiet, stats: ImportStats | None = None) -> Iterator[Quad]:
    """Every quad of the import, as a stream (nothing is held in memory beyond one buffer).

    Raises :class:`EscoImportError` before yielding anything if no input is an ESCO download.
    """
    paths = [Path(p) for p in paths]
    stats = stats if stats is not None else ImportStats()
    wanted = frozenset(languages)
    members = _members(paths)
    plan: list[tuple[str, _Member, str | None, str | None]] = []
    for member in members:
        match = _CSV_NAME.match(member.name)
        if match and match["lang"] in wanted:
            plan.append(("csv", member, match["kind"], match["lang"]))
        elif member.name in _RELATION_NAMES:
            plan.append(("relations", member, None, None))
        elif _rdf_format(member.name) is not None:
            plan.append(("rdf", member, None, None))
    if not any(kind != "relations" for kind, *_ in plan):
        names = ", ".join(sorted(m.name for m in members)[:8]) or "nothing"
        raise EscoImportError(
            f"no ESCO data found in {', '.join(map(str, paths))} (found {names}); expected the official CSV "
            f"downloads (skills_{'/'.join(sorted(wanted))}.csv, occupations_…csv, occupationSkillRelations.csv, "
            "as zips or files) or an RDF dump (.ttl, .nt, .nq, .trig, .rdf)")
    order = {"conceptSchemes": 0, "skillGroups": 1, "skills": 2, "ISCOGroups": 3, "occupations": 4}
    plan.sort(key=lambda item: (item[0] == "relations", order.get(item[2] or "", 9), item[1].name))
    stats.version = _version(paths)
    q = _Quads(_n(graph), stats)
    yield from _header_quads(q, stats.version, sorted({p.name for p in paths}))
    for kind, member, csv_kind, language in plan:
        before = stats.quads
        progress(f"reading {member.name}")
        if kind == "csv":
            yield from _csv_quads(member, csv_kind, language, q)
        elif kind == "relations":
            yield from _relation_quads(member, q)
        else:
            yield from _rdf_quads(member, wanted, q)
        progress(f"  {member.name}: {stats.quads - before:,} quads")


OUTPUT_FORMATS = {".nq": RdfFormat.N_QUADS, ".trig": RdfFormat.TRIG}
OUTPUT_PREFIXES = {"esco": ESCO_MODEL, "skos": SKOS, "dct": DCT, "dcat": DCAT, "owl": OWL, "isothes": ISO_THES,
                   "xsd": XSD, "skill": ESCO + "skill/", "occupation": ESCO + "occupation/"}


def output_format(path: Path | str) -> RdfFormat:
    suffixes = [s for s in Path(path).suffixes if s != ".gz"]
    rdf_format = OUTPUT_FORMATS.get(suffixes[-1] if suffixes else "")
    if rdf_format is None:
        raise EscoImportError(f"{path}: write ESCO as N-Quads (.nq) or TriG (.trig), optionally gzipped (.gz)")
    return rdf_format


def import_esco(paths: Iterable[Path | str], out: Path | str, *, graph: str = ESCO_GRAPH,
                languages: Iterable[str] = ("en",), progress: Progress = _quiet) -> ImportStats:
    """Import ESCO downloads into ``out`` (N-Quads or TriG, ``.gz`` allowed), written atomically."""
    out = Path(out)
    rdf_format = output_format(out)
    stats = ImportStats()
    quads = esco_quads(paths, graph=graph, languages=languages, progress=progress, stats=stats)
    first = next(quads)  # fails here, before any file is created, if the inputs are not ESCO
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("wb") as raw:
            target: BinaryIO = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if out.suffix == ".gz" else raw
            target.write(f"# {ATTRIBUTION}\n# ESCO {stats.version or ''} imported into <{graph}>\n".encode("utf-8"))
            prefixes = OUTPUT_PREFIXES if rdf_format == RdfFormat.TRIG else None
            serialize(_chain_first(first, quads), target, rdf_format, prefixes=prefixes)
            if target is not raw:
                target.close()
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return stats


def _chain_first(first: Quad, rest: Iterator[Quad]) -> Iterator[Quad]:
    yield first
    yield from rest


def load_esco_into(store: Store, path: Path | str) -> None:
    """Bulk-load an import written by :func:`import_esco` into ``store``, keeping its named graph.

    The service calls this at start-up when ``CKG_ESCO`` names such a file.
    """
    path = Path(path)
    if not path.is_file():
        raise EscoImportError(f"{path}: no such ESCO import; make one with 'ckg esco import <ESCO downloads> --out {path.name}'")
    rdf_format = output_format(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            store.bulk_load(input=handle, format=rdf_format)
    else:
        store.bulk_load(path=str(path), format=rdf_format)


def load_esco(store: Store, paths: Iterable[Path | str]) -> None:
    """Load ESCO into ``store`` from imports made by :func:`import_esco` or from ESCO's downloads themselves.

    An import is bulk-loaded as written; anything else is imported on the fly, so a curator can
    point a command at the zips without making an import first.
    """
    for path in paths:
        try:
            output_format(path)
            load_esco_into(store, path)
        except EscoImportError:
            store.bulk_extend(esco_quads([path]))


def check_mapped_concepts(mapping_sets: Iterable[MappingSet], store: Store, *, graph: str = ESCO_GRAPH) -> list[Problem]:
    """Problems for mappings to ESCO concepts that the loaded ESCO lacks or marks as not released.

    Only objects in ESCO's namespace are checked (other frameworks have their own data). A concept
    that ESCO keeps but marks ``obsolete`` (or ``owl:deprecated``) is flagged too: the link still
    resolves, but ESCO advises against new use, so the curator should review the mapping.
    """
    named = _n(graph)
    problems: list[Problem] = []
    for mapping_set in mapping_sets:
        for m in mapping_set.mappings:
            if not m.object.startswith(ESCO):
                continue
            node = _n(m.object)
            shown = compact(m.object, mapping_set.prefixes)
            if not any(True for _ in store.quads_for_pattern(node, None, None, named)):
                problems.append(Problem(mapping_set.path, m.line, 1, f"object {shown} does not exist in the loaded ESCO",
                                        "an ESCO concept IRI; look it up in skills_en.csv or the ESCO portal"))
                continue
            statuses = {q.object.value for q in store.quads_for_pattern(node, _n(STATUS), None, named)}
            deprecated = any(q.object.value == "true" for q in store.quads_for_pattern(node, _n(OWL + "deprecated"), None, named))
            if deprecated or (statuses and "released" not in statuses):
                status = "deprecated" if deprecated else "/".join(sorted(statuses))
                problems.append(Problem(mapping_set.path, m.line, 1, f"object {shown} is {status} in ESCO",
                                        "map to the concept ESCO recommends instead (see its replacedBy / status note)"))
    return problems
