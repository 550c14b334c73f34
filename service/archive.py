"""Every release of the catalogue, served beside the current graph: ``{base}release/…``.

Old releases are read from their folders (``CATALOG_DIR/releases/<version>/``) lazily: a release's
graph is parsed from its ``catalogue.nt`` and indexed on the first request that needs it, and at
most ``KEPT`` of them stay in memory per worker (least recently used first out). Most readers only
ever ask for the current graph, so a server with ten releases costs no more memory than one until
someone browses an old version. The change sets (``changes.json``) are read once, on first use,
into the small indexes that history, "What changed" pages, 410 Gone answers and the feed read.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pyoxigraph import RdfFormat, parse

from ontology.graph import CatalogueGraph, Statement
from ontology.iris import Iris
from ontology.model import Catalogue, ReleaseRecord
from ontology.releases import CHANGES, MANIFEST, RELEASES_DIR, parse_version, rebase_text

from .describe import Descriptions
from .html import Pages

KEPT = 3
"""Old releases kept indexed per worker at once."""


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    issued: str
    change: str
    texts: tuple = ()
    replaced_by: tuple[str, ...] = ()

    @classmethod
    def of(cls, version: str, issued: str, change: dict) -> "HistoryEntry":
        """The entry for one change of a release's ``changes.json`` (``Change.as_json``)."""
        return cls(version, issued, change["change"], tuple(tuple(t.items()) for t in change.get("texts", ())),
                   tuple(change.get("replaced_by", ())))


@dataclass(frozen=True)
class Gone:
    """A resource removed in a (major) release: where it was last, and what replaces it."""

    iri: str
    removed_in: str
    last_release: str
    replaced_by: tuple[str, ...]


class ArchivePages(Pages):
    """Pages of a resource as it was in ``version``: links stay inside that release."""

    def __init__(self, index: Descriptions, scheme: str, version: str):
        super().__init__(index, scheme)
        self.version = version
        self.prefix = f"release/{version}/"

    def href(self, iri: str) -> str:
        if iri.startswith(self.base) and not iri[len(self.base):].startswith("release/"):
            return f"/{self.prefix}{iri[len(self.base):]}"
        return super().href(iri)

    def iri_of(self, path: str) -> str:
        return self.base + (path[len(self.prefix):] if path.startswith(self.prefix) else path)


class Archive:
    """The releases of one catalogue folder, read on demand (see the module docstring)."""

    def __init__(self, catalog_dir: str | Path, catalogue: Catalogue, page_size: int = 100):
        self.folder = Path(catalog_dir).resolve() / RELEASES_DIR  # absolute: send_file reads a relative path from the app package
        self.base = catalogue.base
        self.records: dict[str, ReleaseRecord] = {r.version: r for r in catalogue.releases}
        self.page_size = page_size
        self._loaded: OrderedDict[str, tuple[Descriptions, ArchivePages]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def versions(self) -> list[str]:
        """Released versions, newest first."""
        return sorted(self.records, key=parse_version, reverse=True)

    def manifest(self, version: str) -> dict[str, Any]:
        return json.loads((self.folder / version / MANIFEST).read_text(encoding="utf-8"))

    def file(self, version: str, name: str) -> tuple[Path, str, str] | None:
        """(path, media type, sha256) of a release file, or None."""
        if version not in self.records:
            return None
        for entry in self.manifest(version)["files"]:
            if entry["name"] == name:
                return self.folder / version / name, entry["media_type"], entry["sha256"]
        if name in (MANIFEST, CHANGES):
            return self.folder / version / name, "application/json", ""
        return None

    def changes(self, version: str) -> dict[str, Any]:
        return self._change_sets.get(version, {"changes": []})

    @cached_property
    def _change_sets(self) -> dict[str, dict[str, Any]]:
        found = {}
        for version in self.records:
            path = self.folder / version / CHANGES
            if path.is_file():
                change_set = json.loads(path.read_text(encoding="utf-8"))
                for change in change_set["changes"]:
                    change["iri"] = self.rebase(change["iri"], version)
                    change["replaced_by"] = [self.rebase(r, version) for r in change.get("replaced_by", ())]
                found[version] = change_set
        return found

    @cached_property
    def _history(self) -> dict[str, list[HistoryEntry]]:
        found: dict[str, list[HistoryEntry]] = {}
        for version in sorted(self._change_sets, key=parse_version):
            issued = self.records[version].issued
            for change in self._change_sets[version]["changes"]:
                found.setdefault(change["iri"], []).append(HistoryEntry.of(version, issued, change))
        return found

    def history(self, iri: str) -> list[HistoryEntry]:
        """What happened to ``iri`` in each release that touched it, oldest first."""
        return self._history.get(iri, [])

    def gone(self, iri: str) -> Gone | None:
        """The removal of ``iri`` if a release removed it (and none added it back)."""
        entries = self.history(iri)
        if not entries or entries[-1].change != "removed":
            return None
        removed_in = entries[-1].version
        last = self._change_sets[removed_in].get("previous") or removed_in
        return Gone(iri, removed_in, last, entries[-1].replaced_by)

    def descriptions(self, version: str) -> tuple[Descriptions, ArchivePages] | None:
        """The release's own index and page writer, loaded on first use; None for an unknown version."""
        if version not in self.records:
            return None
        with self._lock:
            if version in self._loaded:
                self._loaded.move_to_end(version)
                return self._loaded[version]
            loading = self._loading.setdefault(version, threading.Lock())
        # One load per release at a time: the requests that arrive meanwhile (a feed client's first pages,
        # all of one old release) wait for it instead of each parsing the whole release again (at 20,000
        # competencies, 16 parallel loads of 2.7 M triples made the first feed pages take minutes).
        with loading:
            with self._lock:
                if version in self._loaded:
                    self._loaded.move_to_end(version)
                    return self._loaded[version]
            loaded = self._load(version)
            with self._lock:
                self._loaded[version] = loaded
                while len(self._loaded) > KEPT:
                    self._loaded.popitem(last=False)
                self._loading.pop(version, None)
        return loaded

    def rebase(self, iri: str, version: str) -> str:
        """``iri`` as served: a release written under another base has its IRIs moved under ours."""
        written = self.records[version].base
        if not written or written == self.base or not iri.startswith(written) or iri[len(written):].startswith("def"):
            return iri
        return self.base + iri[len(written):]

    def _load(self, version: str) -> tuple[Descriptions, ArchivePages]:
        iris = Iris(self.base)
        written = self.records[version].base
        text = (self.folder / version / "catalogue.nt").read_text(encoding="utf-8")
        text = rebase_text(text, written, self.base)
        statements = [Statement(t.subject, t.predicate, t.object)
                      for t in parse(input=text.encode("utf-8"), format=RdfFormat.N_TRIPLES)]
        mapping_prefix = f"{self.base}mappings/"
        graph = CatalogueGraph(iris=iris, shared=[s for s in statements if not s.subject.value.startswith(mapping_prefix)],
                               parts=[], mappings=[s for s in statements if s.subject.value.startswith(mapping_prefix)])
        index = Descriptions(graph, page_size=self.page_size)
        return index, ArchivePages(index, iris.scheme, version)
