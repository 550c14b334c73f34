"""``ckg release``: turn the catalogue into an immutable, numbered release inside its own folder.

The checks come first and say what to do: a version that exists with other content, a release
without changes, or a version bump smaller than the changes need (the rules are in
``exports.changes``) is refused before anything is written.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import click

from competency_kg.compile import compile_catalogue
from exports.changes import (BUMPS, Change, bump_of, diff, needed_bump, removals_without_deprecation, snapshot_of_graph,
                             snapshot_of_ntriples, summary, why)
from exports.rdf import write_rdf
from exports.release import ExportError, write_release
from ontology.graph import CatalogueGraph
from ontology.problems import CatalogueError
from ontology.releases import CHANGES, MANIFEST, RELEASES_DIR, latest_before, parse_version
from ontology.shacl import validate_graph

from .settings import default_base, default_catalog


def _report(problems: list) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    count = len(problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was released.", err=True)
    sys.exit(1)


def _refuse(message: str) -> None:
    click.echo(f"ckg release: {message}", err=True)
    sys.exit(1)


class _Hasher:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def ntriples_digest(graph: CatalogueGraph) -> str:
    """The SHA-256 that catalogue.nt would have: a release's content, compared without writing it."""
    hasher = _Hasher()
    write_rdf(graph, hasher, "nt")  # type: ignore[arg-type]
    return hasher.digest.hexdigest()


def _released_digest(folder: Path) -> str | None:
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError):
        return None
    return next((f["sha256"] for f in files if f["name"] == "catalogue.nt"), None)


def _next_versions(version: str) -> str:
    major, minor, patch = parse_version(version)
    return f"{major}.{minor}.{patch + 1} (patch), {major}.{minor + 1}.0 (minor) or {major + 1}.0.0 (major)"


def check_bump(previous: str, version: str, changes: list[Change]) -> str | None:
    """Why ``version`` cannot follow ``previous`` with these changes, or None if it can."""
    if not changes:
        return (f"nothing changed since release {previous}; edit the catalogue first "
                f"(a release without changes would only be a copy)")
    needed = needed_bump(changes)
    actual = bump_of(previous, version)
    if actual is None:
        return f"version {version} does not follow release {previous}: the next version is {_next_versions(previous)}"
    if BUMPS.index(actual) < BUMPS.index(needed):
        major, minor, patch = parse_version(previous)
        wanted = {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0"}[needed]
        rule = {"major": "a released resource was removed", "minor": "resources were added, deprecated or changed beyond their wording"}[needed]
        return (f"version {version} is a {actual} release, but these changes need a {needed} release ({wanted}): "
                f"{rule} ({why(changes, needed)}). Set 'version: {wanted}' in catalog.yaml")
    return None


@click.command()
@click.argument("catalog_dir", required=False, type=click.Path(file_okay=False, path_type=str))
@click.option("--base", default=default_base, metavar="IRI",
              help="Base IRI for the catalogue's IRIs (default: the catalogue's 'base', or $CKG_BASE).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes for large catalogues (default: one per core).")
def release(catalog_dir: str | None, base: str | None, jobs: int | None) -> None:
    """Publish CATALOG_DIR's version (catalog.yaml) as CATALOG_DIR/releases/<version>/: dumps, manifest, change set."""
    started = time.perf_counter()
    directory = Path(catalog_dir or default_catalog())
    shown = str(catalog_dir or default_catalog()).rstrip("/")
    try:
        compiled = compile_catalogue(directory, base=base, jobs=jobs, shacl=False)
    except CatalogueError as error:
        _report(error.problems)
    catalogue, graph = compiled.catalogue, compiled.graph
    version, releases = catalogue.version, directory / RELEASES_DIR
    previous = latest_before(catalogue.releases, version)
    old = (snapshot_of_ntriples(releases / previous.version / "catalogue.nt", catalogue.base, previous.base)
           if previous is not None else {})  # read once: for the removal check and for the change set
    problems = removals_without_deprecation(directory, catalogue, graph, shown, old=old if previous else None)
    if problems:
        _report(problems)
    target = releases / version
    if target.exists():
        if _released_digest(target) == ntriples_digest(graph):
            click.echo(f"{target}: release {version} already exists with exactly this content; nothing to do.")
            return
        _refuse(f"release {version} already exists in {target} with different content, and a release never changes. "
                f"Set the next version in {shown}/catalog.yaml: {_next_versions(version)}")
    newest = catalogue.releases[-1] if catalogue.releases else None
    if newest is not None and parse_version(newest.version) > parse_version(version):
        _refuse(f"version {version} is older than the latest release {newest.version}; "
                f"set the next version in {shown}/catalog.yaml: {_next_versions(newest.version)}")
    new = snapshot_of_graph(graph)
    if previous is not None:
        changes = diff(old, new, catalogue.base)
        refusal = check_bump(previous.version, version, changes)
        if refusal:
            _refuse(refusal)
    else:
        changes = diff({}, new, catalogue.base)
    metadata = {"title": catalogue.title, "version": version, "base": catalogue.base, "issued": catalogue.modified,
                "modified": catalogue.modified, "previous": previous.version if previous else None,
                "license": catalogue.license}
    staging = releases / f".{version}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_release(graph, staging, metadata=metadata, check=lambda: validate_graph(graph))
        change_set = {"version": version, "previous": metadata["previous"], "issued": catalogue.modified,
                      "bump": bump_of(previous.version, version) if previous else None,
                      "counts": summary(changes), "changes": [c.as_json() for c in changes]}
        (staging / CHANGES).write_text(json.dumps(change_set, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.rename(staging, target)
    except CatalogueError as error:
        shutil.rmtree(staging, ignore_errors=True)
        _report(error.problems)
    except (ExportError, OSError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise click.ClickException(f"release failed, nothing was published: {error}") from None
    counts = summary(changes)
    against = f" against {previous.version}" if previous else " (first release)"
    click.echo(f"{target}: release {version}{against}: " + ", ".join(f"{n} {what}" for what, n in counts.items())
               + f" in {time.perf_counter() - started:.1f} s")
