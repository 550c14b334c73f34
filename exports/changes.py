"""What changed between two releases, resource by resource, and which version bump that needs.

A *resource* is everything the catalogue publishes at its own IRI and a consumer may cite: the
scheme and level scheme, clusters, competencies, competency levels, criteria, generic levels and
development offers. Each is compared as the set of its statements (``predicate object`` in
N-Triples form, so the previous release is read straight from its ``catalogue.nt`` without an RDF
parser, and the current graph is written the same way). Bump rules (documented in the README):

- **major**: a released resource is gone (allowed only once it was deprecated in the release before);
- **minor**: a resource added or deprecated, or a change other than wording (a link, a type, a rank);
- **patch**: only texts changed (rewording, a translation added or corrected).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pyoxigraph import RdfFormat, parse

from ontology.graph import CatalogueGraph
from ontology.model import Catalogue
from ontology.namespaces import DCT, OWL
from ontology.problems import Problem
from ontology.releases import RELEASES_DIR, latest_before, parse_version, rebase_text

BUMPS = ("patch", "minor", "major")
TRACKED = ("competency/", "level/", "cluster/", "offer/")
_DEPRECATED = f"<{OWL}deprecated> \"true\"^^<http://www.w3.org/2001/XMLSchema#boolean>"
_REPLACED_BY = f"<{DCT}isReplacedBy> "
_DERIVED = (f"<{DCT}replaces> ",)
"""Statements a resource gets because of another's change (X dct:replaces Y comes with Y's deprecation)."""

Snapshot = dict[str, frozenset[str]]
"""Resource IRI -> its statements as 'predicate object' N-Triples fragments."""


def tracked(iri: str, base: str) -> bool:
    if not iri.startswith(base):
        return False
    path = iri[len(base):]
    return path in ("scheme", "levels") or path.startswith(TRACKED)


def kind_of(path: str) -> str:
    parts = path.split("/")
    if parts[0] == "competency":
        return {2: "competency", 4: "competency-level", 6: "criterion"}.get(len(parts), "resource")
    return {"level": "level", "cluster": "cluster", "offer": "offer"}.get(parts[0], "scheme")


def snapshot_of_graph(graph: CatalogueGraph) -> Snapshot:
    base = graph.iris.base
    found: dict[str, set[str]] = {}
    last, lines = None, None
    for group in (graph.shared, *graph.parts, graph.mappings):  # (a generic level's mapping links are in the last)
        for s, p, o in group:
            if s is not last:  # a subject's statements mostly come together: test each subject once
                last = s
                iri = s.value
                lines = found.setdefault(iri, set()) if tracked(iri, base) else None
            if lines is not None:
                lines.add(f"{p} {o}")
    return {iri: frozenset(lines) for iri, lines in found.items()}


def snapshot_of_ntriples(path: Path, base: str, written_under: str | None = None) -> Snapshot:
    """The same snapshot read from a release's N-Triples dump (one statement per line, as we write it).

    ``written_under`` is the base the release was written with, when the catalogue is now built
    under another (``--base``): its IRIs are moved to ``base`` so both sides compare.
    """
    found: dict[str, set[str]] = {}
    prefix = f"<{base}"
    old_prefix = f"<{written_under}" if written_under and written_under != base else None
    last_subject, lines_of = "", None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if old_prefix is not None:
                line = rebase_text(line, written_under, base)
            if not line.startswith(prefix):
                continue
            end = line.index("> ")
            subject = line[1:end]
            if subject != last_subject:
                last_subject = subject
                lines_of = found.setdefault(subject, set()) if tracked(subject, base) else None
            if lines_of is not None:
                lines_of.add(line[end + 2:-3])
    return {iri: frozenset(statements) for iri, statements in found.items()}


def deprecated(statements: Iterable[str]) -> bool:
    return _DEPRECATED in statements


def replacements(statements: Iterable[str]) -> list[str]:
    return sorted(s[len(_REPLACED_BY) + 1:-1] for s in statements if s.startswith(_REPLACED_BY))


def _own(statements: frozenset[str]) -> frozenset[str]:
    return frozenset(s for s in statements if not s.startswith(_DERIVED))


def _literal(fragment: str) -> tuple[str, str, str] | None:
    """(predicate IRI, language, text) of a language-tagged 'predicate object' fragment, else None."""
    if '"@' not in fragment:  # only a language-tagged literal has a quote followed by '@'
        return None
    triple = next(iter(parse(input=f"<x:s> {fragment} .\n".encode("utf-8"), format=RdfFormat.N_TRIPLES)))
    if not triple.object.__class__.__name__ == "Literal" or not triple.object.language:
        return None
    return triple.predicate.value, triple.object.language, triple.object.value


@dataclass
class Change:
    iri: str
    path: str
    kind: str
    change: str
    """'added', 'changed', 'deprecated' or 'removed'."""
    bump: str
    texts: list[dict[str, str]] = field(default_factory=list)
    """For changed texts: property, language, old and new (either may be empty)."""
    replaced_by: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        out = {"iri": self.iri, "kind": self.kind, "change": self.change, "bump": self.bump}
        if self.texts:
            out["texts"] = self.texts
        if self.replaced_by:
            out["replaced_by"] = self.replaced_by
        return out


def _text_changes(old: frozenset[str], new: frozenset[str]) -> tuple[list[dict[str, str]], bool]:
    """The changed texts, and whether anything else changed too."""
    texts: dict[tuple[str, str], dict[str, str]] = {}
    other = False
    for side, fragments in (("old", old - new), ("new", new - old)):
        for fragment in fragments:
            if fragment == _DEPRECATED or fragment.startswith(_REPLACED_BY):
                continue
            found = _literal(fragment)
            if found is None:
                other = True
                continue
            predicate, language, text = found
            entry = texts.setdefault((predicate, language), {"property": predicate, "language": language, "old": "", "new": ""})
            entry[side] = text
    return [texts[key] for key in sorted(texts)], other


def diff(old: Snapshot, new: Snapshot, base: str) -> list[Change]:
    """Every resource added, changed, deprecated or removed from ``old`` to ``new``, in IRI order."""
    changes = []
    for iri in sorted(old.keys() | new.keys()):
        path = iri[len(base):]
        before, after = old.get(iri), new.get(iri)
        if before is None:
            changes.append(Change(iri, path, kind_of(path), "added", "minor", replaced_by=replacements(after)))
        elif after is None:
            changes.append(Change(iri, path, kind_of(path), "removed", "major", replaced_by=replacements(before)))
        elif _own(before) != _own(after):
            texts, other = _text_changes(_own(before), _own(after))
            if deprecated(after) and not deprecated(before):
                changes.append(Change(iri, path, kind_of(path), "deprecated", "minor", texts, replacements(after)))
            else:
                changes.append(Change(iri, path, kind_of(path), "changed",
                                      "minor" if other or deprecated(before) != deprecated(after) else "patch",
                                      texts, replacements(after)))
    return changes


def needed_bump(changes: list[Change]) -> str | None:
    return max((c.bump for c in changes), key=BUMPS.index, default=None)


def bump_of(previous: str, version: str) -> str | None:
    """Which bump leads from ``previous`` to ``version`` ('major', 'minor', 'patch'), None if neither is next in line."""
    old, new = parse_version(previous), parse_version(version)
    if old is None or new is None:
        return None
    if new == (old[0] + 1, 0, 0):
        return "major"
    if new == (old[0], old[1] + 1, 0):
        return "minor"
    if new == (old[0], old[1], old[2] + 1):
        return "patch"
    return None


def summary(changes: list[Change]) -> dict[str, int]:
    counts = {"added": 0, "changed": 0, "deprecated": 0, "removed": 0}
    for change in changes:
        counts[change.change] += 1
    return counts


def why(changes: list[Change], bump: str) -> str:
    """A short reason for a bump: the first few changes that need it."""
    needing = [c for c in changes if c.bump == bump]
    shown = ", ".join(f"{c.path} {c.change}" for c in needing[:3])
    more = f" and {len(needing) - 3} more" if len(needing) > 3 else ""
    return f"{shown}{more}"


def removals_without_deprecation(catalog_dir: Path | str, catalogue: Catalogue, graph: CatalogueGraph,
                                 shown: str | None = None, old: Snapshot | None = None) -> list[Problem]:
    """Released competencies, competency levels, criteria and generic levels missing from the YAML.

    Only the latest release is compared (a resource removed in an earlier major release is gone
    for good). Removing is allowed once the latest release had it deprecated and the catalogue's
    version is the next major one; anything else is a problem naming the file and the release.
    """
    latest = latest_before(catalogue.releases, catalogue.version)
    if latest is None:
        return []
    shown = (shown or str(catalog_dir)).rstrip("/")
    if old is None:  # the caller may have read it already (ckg release compares against it too)
        old = snapshot_of_ntriples(Path(catalog_dir) / RELEASES_DIR / latest.version / "catalogue.nt", catalogue.base, latest.base)
    present = {s.value for s in (st.subject for st in graph.statements())}
    major = bump_of(latest.version, catalogue.version) == "major"
    problems = []
    for iri in sorted(old.keys() - present):
        path = iri[len(catalogue.base):]
        kind = kind_of(path)
        if kind not in ("competency", "competency-level", "criterion", "level"):
            continue
        if major and _deprecated_here_or_above(path, old, catalogue.base):
            continue
        file = f"{shown}/levels.yaml" if kind == "level" else f"{shown}/competencies/{path.split('/')[1]}.yaml"
        advice = ("removing it needs a major version" if _deprecated_here_or_above(path, old, catalogue.base) else
                  "keep it and mark it 'deprecated' with its replacements (see catalog/GUIDE.md); a later major release may remove it")
        problems.append(Problem(file, 1, 1, f"{path} was published in release {latest.version} but is missing", advice))
    return problems


def _deprecated_here_or_above(path: str, snapshot: Snapshot, base: str) -> bool:
    """Deprecating a competency (or a competency level) deprecates what is written inside it."""
    parts = path.split("/")
    return any(deprecated(snapshot.get(base + "/".join(parts[:n]), ())) for n in range(2, len(parts) + 1, 2))
