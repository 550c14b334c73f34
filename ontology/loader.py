"""Read a catalogue folder, check it completely, and return the model or every problem at once.

Checks run in two passes: each file on its own (syntax, schema), then the files against each
other (duplicate slugs, unknown clusters, levels that levels.yaml does not define). Competency
files are independent, so large catalogues read them in parallel worker processes.
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .confine import files_leaving, leaves, outside_problem
from .iris import Iris
from .model import (Catalogue, Cluster, Competency, CompetencyLevel, Criterion, Deprecation, DevelopmentOffer,
                    Level, Publisher, Source)
from .parallel import die_with_parent, processes
from .problems import CatalogueError, Problem
from .releases import RELEASES_DIR, ReleaseFolderError, read_releases
from .schema_check import check_document, shared_definition
from .yamldoc import YamlDocument, read_yaml

CATALOG_FILE = "catalog.yaml"
LEVELS_FILE = "levels.yaml"
COMPETENCY_DIR = "competencies"
PARALLEL_FROM = 400
"""Below this many competency files, starting worker processes costs more than it saves."""


CompetencyHandler = Callable[[Catalogue, Competency], None]


def load_catalogue(directory: Path | str, *, base: str | None = None, jobs: int | None = None,
                   on_competency: CompetencyHandler | None = None) -> Catalogue:
    """The checked catalogue in ``directory``; raises :class:`CatalogueError` listing all problems.

    ``on_competency`` is called with each competency that passed its own checks as soon as it is
    read, while worker processes are still reading the rest: the caller's work on it (building its
    triples) then overlaps the reading. Checks across files (duplicate slugs) come at the end, so a
    caller must drop what it made if this function raises.
    """
    folder = Path(directory)
    shown = str(directory).rstrip("/") or "."
    if not folder.is_dir():
        raise CatalogueError([Problem(shown, 1, 1, "no catalogue folder here", f"a folder with {CATALOG_FILE}, {LEVELS_FILE} and {COMPETENCY_DIR}/")])
    problems: list[Problem] = []
    meta_doc = _read_checked(folder, CATALOG_FILE, shown, "catalog", problems)
    levels_doc = _read_checked(folder, LEVELS_FILE, shown, "levels", problems)
    files = sorted((folder / COMPETENCY_DIR).glob("*.yaml")) if (folder / COMPETENCY_DIR).is_dir() else []
    outside = files_leaving(folder, files)
    problems.extend(outside_problem(f"{shown}/{COMPETENCY_DIR}/{file.name}") for file in outside)
    files = [file for file in files if file not in outside] if outside else files
    if not files:
        problems.append(Problem(f"{shown}/{COMPETENCY_DIR}", 1, 1, "no competency files found",
                                f"at least one {COMPETENCY_DIR}/<slug>.yaml"))
    shown_files = [f"{shown}/{COMPETENCY_DIR}/{file.name}" for file in files]
    catalogue = _catalogue(meta_doc, levels_doc, base) if meta_doc is not None and levels_doc is not None else None
    base_problems = _check_base(base)
    problems.extend(base_problems)
    if base_problems:  # IRIs cannot be made under a malformed base: nothing may be built
        on_competency = None
    competencies: list[Competency] = []
    for competency, file_problems in _read_competencies(list(zip(files, shown_files)), jobs):
        problems.extend(file_problems)
        if competency is None:
            continue
        competencies.append(competency)
        if catalogue is not None:
            own_problems = _check_competency(competency, catalogue)
            problems.extend(own_problems)
            if on_competency is not None and not own_problems:
                on_competency(catalogue, competency)

    if catalogue is not None:
        problems.extend(_check_levels(levels_doc, catalogue.levels))
        problems.extend(_check_clusters(catalogue.clusters))
        problems.extend(_duplicates(((c.slug, c.source) for c in competencies), "competency slug"))
        problems.extend(_duplicates(((o.slug, o.source) for c in competencies for o in c.development),
                                    "development offer slug"))
        problems.extend(_check_deprecations(catalogue, competencies))
    if problems or catalogue is None:
        raise CatalogueError(problems)
    catalogue.competencies = sorted(competencies, key=lambda c: c.slug)
    catalogue.releases = _releases(folder, shown)
    return catalogue


def _releases(folder: Path, shown: str) -> list:
    try:
        return read_releases(folder)
    except ReleaseFolderError as error:
        raise CatalogueError([Problem(f"{shown}/{RELEASES_DIR}", 1, 1, str(error), "the manifest.json that `ckg release` wrote")]) from None


def _read_checked(folder: Path, name: str, shown_folder: str, kind: str, problems: list[Problem]) -> YamlDocument | None:
    path, shown = folder / name, f"{shown_folder}/{name}"
    if leaves(folder, path):
        problems.append(outside_problem(shown))
        return None
    return _read_file(path, shown, kind, problems)


def _read_file(path: Path, shown: str, kind: str, problems: list[Problem]) -> YamlDocument | None:
    if not path.exists():
        problems.append(Problem(shown, 1, 1, "file is missing", f"a {path.name} as described in catalog/schema/{kind}.schema.json"))
        return None
    doc, syntax = read_yaml(path, shown)
    problems.extend(syntax)
    if doc is None:
        return None
    schema_problems = check_document(doc, kind)
    problems.extend(schema_problems)
    return None if (syntax or schema_problems) else doc


def _read_one_competency(item: tuple[Path, str]) -> tuple[Competency | None, list[Problem]]:
    problems: list[Problem] = []
    doc = _read_file(item[0], item[1], "competency", problems)
    if doc is None:
        return None, problems
    for li, entry in enumerate(doc.data["levels"]):
        for di, marked in enumerate(entry.get("deprecated_criteria", ())):
            if marked["position"] > len(entry["criteria"]):
                problems.append(doc.problem(("levels", li, "deprecated_criteria", di, "position"),
                                            f"level {entry['level']} has no criterion {marked['position']} to deprecate",
                                            f"a position from 1 to {len(entry['criteria'])}"))
    return _competency(doc), problems


def _read_competencies(items: list[tuple[Path, str]], jobs: int | None) -> Iterator[tuple[Competency | None, list[Problem]]]:
    """Each file's competency (or None) and problems, in file order, yielded as soon as it is read."""
    workers = processes(jobs)
    if workers <= 1 or len(items) < PARALLEL_FROM:
        yield from map(_read_one_competency, items)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        yield from pool.map(_read_one_competency, items, chunksize=max(1, len(items) // (workers * 32)))


def _text(value: Any) -> dict[str, str] | None:
    return dict(value) if value is not None else None


def _source(doc: YamlDocument, at: tuple) -> Source:
    return Source(doc.path, doc.position(at)[0])


def _deprecation(doc: YamlDocument, value: Any, at: tuple) -> Deprecation | None:
    if value is None:
        return None
    return Deprecation(tuple(value.get("replaced_by", ())), _text(value.get("note")), _source(doc, at))


def _criteria(doc: YamlDocument, entry: Any, li: int) -> list[Criterion]:
    marked = {d["position"]: (di, d) for di, d in enumerate(entry.get("deprecated_criteria", ()))}
    criteria = []
    for ci, text in enumerate(entry["criteria"]):
        criterion = Criterion(ci + 1, dict(text), _source(doc, ("levels", li, "criteria", ci)))
        if criterion.position in marked:
            di, d = marked[criterion.position]
            criterion.deprecated = _deprecation(doc, d, ("levels", li, "deprecated_criteria", di))
        criteria.append(criterion)
    return criteria


def _competency(doc: YamlDocument) -> Competency:
    data = doc.data
    levels = [
        CompetencyLevel(
            rank=entry["level"],
            criteria=_criteria(doc, entry, li),
            source=_source(doc, ("levels", li)),
            deprecated=_deprecation(doc, entry.get("deprecated"), ("levels", li, "deprecated")),
        )
        for li, entry in enumerate(data["levels"])
    ]
    offers = [DevelopmentOffer(o["slug"], o["kind"], dict(o["name"]), _source(doc, ("development", oi)))
              for oi, o in enumerate(data.get("development", []))]
    return Competency(data["slug"], data["cluster"], dict(data["name"]), _text(data.get("definition")),
                      sorted(levels, key=lambda level: level.rank), offers, Source(doc.path, 1),
                      {key: doc.key_position((key,))[0] for key in data},
                      _deprecation(doc, data.get("deprecated"), ("deprecated",)))


def _catalogue(meta: YamlDocument, levels: YamlDocument, base: str | None) -> Catalogue:
    m, lv = meta.data, levels.data
    p = m["publisher"]
    return Catalogue(
        base=base or m["base"], title=dict(m["title"]), description=dict(m["description"]),
        criteria_note=_text(m.get("criteria_note")), version=m["version"], issued=m["issued"],
        modified=m["modified"], license=m["license"], source_page=m["source"],
        publisher=Publisher(p["slug"], p["name"], _text(p.get("tagline")), p["homepage"], p["telephone"], p["email"]),
        clusters=[Cluster(c["slug"], dict(c["name"]), _text(c.get("description")), _source(meta, ("clusters", i)))
                  for i, c in enumerate(m["clusters"])],
        levels_name=dict(lv["name"]), levels_description=_text(lv.get("description")),
        levels=sorted((Level(e["rank"], dict(e["name"]), dict(e["description"]), _source(levels, ("levels", i)),
                             _deprecation(levels, e.get("deprecated"), ("levels", i, "deprecated")))
                       for i, e in enumerate(lv["levels"])), key=lambda level: level.rank),
    )


def _check_base(override: str | None) -> list[Problem]:
    if override is None:
        return []
    rule = shared_definition("baseIri")  # the schema's own rule, applied to a base given on the command line
    if re.fullmatch(rule["pattern"], override):
        return []
    return [Problem("--base", 1, 1, f"malformed base IRI {override!r}", rule["x-expected"])]


def _duplicates(items: Iterable[tuple[str, Source]], what: str) -> list[Problem]:
    seen: dict[str, list[Source]] = defaultdict(list)
    for key, source in items:
        seen[key].append(source)
    problems = []
    for key, sources in seen.items():
        for later in sources[1:]:
            problems.append(Problem(later.path, later.line, 1, f"duplicate {what} '{key}'",
                                    f"a {what} used once; it is already used at {sources[0]}"))
    return problems


def _check_levels(doc: YamlDocument, levels: list[Level]) -> list[Problem]:
    problems = _duplicates(((str(level.rank), level.source) for level in levels), "level rank")
    ranks = sorted({level.rank for level in levels})
    wanted = list(range(1, len(ranks) + 1))
    if ranks != wanted:
        missing = sorted(set(range(1, max(ranks) + 1)) - set(ranks))
        problems.append(doc.problem(("levels",), f"level {', '.join(map(str, missing))} missing from the levels",
                                    "levels numbered 1, 2, 3, … without gaps"))
    return problems


def _check_clusters(clusters: list[Cluster]) -> list[Problem]:
    return _duplicates(((c.slug, c.source) for c in clusters), "cluster slug")


def resource_paths(catalogue: Catalogue, competencies: Iterable[Competency]) -> set[str]:
    """Every path below the base that the catalogue publishes and a deprecation may point to."""
    paths = {f"level/{level.rank}" for level in catalogue.levels}
    for competency in competencies:
        paths.add(f"competency/{competency.slug}")
        for level in competency.levels:
            paths.add(f"competency/{competency.slug}/level/{level.rank}")
            paths.update(f"competency/{competency.slug}/level/{level.rank}/criterion/{c.position}" for c in level.criteria)
    return paths


def _check_deprecations(catalogue: Catalogue, competencies: list[Competency]) -> list[Problem]:
    """Replacements must name resources of this catalogue, other than the deprecated one itself.

    A deprecated criterion must exist too: ``deprecated_criteria`` names it by position.
    """
    known = resource_paths(catalogue, competencies)
    problems = []

    def check(path: str, deprecation: Deprecation | None) -> None:
        if deprecation is None:
            return
        for target in deprecation.replaced_by:
            if target == path:
                problems.append(Problem(deprecation.source.path, deprecation.source.line, 1,
                                        f"{path} is deprecated in favour of itself", "replacements other than the deprecated resource"))
            elif target not in known:
                problems.append(Problem(deprecation.source.path, deprecation.source.line, 1,
                                        f"unknown replacement '{target}' for {path}",
                                        "a resource this catalogue publishes, such as competency/<slug> or competency/<slug>/level/<n>"))

    for level in catalogue.levels:
        check(f"level/{level.rank}", level.deprecated)
    for competency in competencies:
        here = f"competency/{competency.slug}"
        check(here, competency.deprecated)
        for level in competency.levels:
            check(f"{here}/level/{level.rank}", level.deprecated)
            for criterion in level.criteria:
                check(f"{here}/level/{level.rank}/criterion/{criterion.position}", criterion.deprecated)
    return problems


def _check_competency(competency: Competency, catalogue: Catalogue) -> list[Problem]:
    """What one competency file gets wrong against catalog.yaml and levels.yaml."""
    problems = []
    clusters = sorted(c.slug for c in catalogue.clusters)
    ranks = [level.rank for level in catalogue.levels]
    if competency.cluster not in clusters:
        problems.append(Problem(competency.source.path, competency.field_lines.get("cluster", 1), 1,
                                f"unknown cluster '{competency.cluster}'",
                                f"one of the clusters in {CATALOG_FILE}: {', '.join(clusters)}"))
    problems += _duplicates(((str(level.rank), level.source) for level in competency.levels), "level")
    for level in competency.levels:
        if level.rank not in ranks:
            problems.append(Problem(level.source.path, level.source.line, 1, f"level {level.rank} is out of range",
                                    f"a level defined in {LEVELS_FILE}: {', '.join(map(str, ranks))}"))
    present = {level.rank for level in competency.levels}
    missing = [rank for rank in ranks if rank not in present]
    if missing:
        problems.append(Problem(competency.source.path, competency.field_lines.get("levels", 1), 1,
                                f"missing level {', '.join(map(str, missing))} in competency '{competency.slug}'",
                                f"criteria for every level in {LEVELS_FILE}: {', '.join(map(str, ranks))}"))
    return problems


__all__ = ["load_catalogue", "CatalogueError", "Iris"]
