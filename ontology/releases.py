"""A catalogue's releases: reading their records, and what the graph says about its versions.

Releases live inside the catalogue folder (``releases/<version>/``, each with a ``manifest.json``)
so they are versioned in git beside the YAML they came from. The graph describes every release
(DCAT 3 versioning: ``dcat:hasVersion``, ``dcat:previousVersion``, ``dcat:version``; PROV's
``prov:wasRevisionOf``) using only the records and the catalogue, so two builds of the same
folder give the same bytes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .model import Catalogue, ReleaseRecord

RELEASES_DIR = "releases"
MANIFEST = "manifest.json"
CHANGES = "changes.json"
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

RELEASE_FILES: tuple[tuple[str, str], ...] = (
    ("catalogue.ttl", "text/turtle"), ("catalogue.nt", "application/n-triples"),
    ("catalogue.rdf", "application/rdf+xml"), ("catalogue.jsonld", "application/ld+json"),
    ("catalogue.csv", "text/csv"), ("catalogue.sssom.tsv", "text/tab-separated-values"),
    ("catalogue.sssom.json", "application/json"), ("catalogue.case.json", "application/json"),
    ("catalogue.case.en.json", "application/json"),
)
"""The files every release holds (the writer's list: a test keeps the two equal), so the graph of a
version not yet released can already name its own distributions."""


def rebase_text(text: str, written_under: str, base: str) -> str:
    """N-Triples (or any text of IRIs in <>) written under one base, with its IRIs moved under ``base``.

    The vocabulary's IRIs stay: they are fixed (``ontology.iris.VOCAB``) even where they start with
    the default base, so they are not the catalogue's.
    """
    if not written_under or written_under == base:
        return text
    return re.sub(re.escape("<" + written_under) + r"(?!def[#>])", lambda _: "<" + base, text)


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = SEMVER.match(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


class ReleaseFolderError(Exception):
    """A release folder that cannot be read (a broken manifest): said with its path, never a traceback."""


def read_releases(catalog_dir: Path | str) -> list[ReleaseRecord]:
    """The releases under ``catalog_dir/releases``, oldest first; folders starting with '.' are work in progress."""
    folder = Path(catalog_dir) / RELEASES_DIR
    if not folder.is_dir():
        return []
    records = []
    for sub in folder.iterdir():
        if sub.name.startswith(".") or not sub.is_dir() or parse_version(sub.name) is None:
            continue
        manifest = sub / MANIFEST
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            meta = data["metadata"]
            records.append(ReleaseRecord(
                version=sub.name, issued=meta["issued"], previous=meta.get("previous"),
                title=dict(meta.get("title", {})), license=meta.get("license", ""),
                files=tuple((f["name"], f["media_type"]) for f in data["files"]), base=meta.get("base", "")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ReleaseFolderError(f"{manifest}: not a readable release manifest ({error})") from None
    return sorted(records, key=lambda r: parse_version(r.version))


def latest_before(records: list[ReleaseRecord], version: str) -> ReleaseRecord | None:
    """The newest release older than ``version`` (its predecessor), if any."""
    wanted = parse_version(version)
    older = [r for r in records if wanted is None or parse_version(r.version) < wanted]
    return older[-1] if older else None


def versions(catalogue: Catalogue) -> list[ReleaseRecord]:
    """Every version the graph describes: the released ones, and the catalogue's own version.

    The catalogue's version is described from the catalogue (issued = its ``modified`` date, the
    file list of a release) whether or not it has been released yet, so releasing it changes
    nothing in its graph.
    """
    others = [r for r in catalogue.releases if r.version != catalogue.version]
    previous = latest_before(others, catalogue.version)
    current = ReleaseRecord(catalogue.version, catalogue.modified, previous.version if previous else None,
                            catalogue.title, catalogue.license, RELEASE_FILES, catalogue.base)
    return sorted([*others, current], key=lambda r: parse_version(r.version) or (0, 0, 0))
