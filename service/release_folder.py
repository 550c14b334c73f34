"""The release files (Turtle, N-Triples, RDF/XML, JSON-LD, CSV) of the served graph, behind ``/downloads/``.

The files are written by ``exports.release.write_release`` on the first request that needs them,
into ``CKG_DOWNLOADS_DIR`` or else a temporary folder of this process, and then served from disk
with their manifest's media type, size and SHA-256 (the ETag). A folder shared by several workers
is written once: a file lock serialises the writers, and a manifest whose fingerprint matches the
graph is reused instead of rewritten, so a stale release of another catalogue is never served.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from exports.rdf import write_ntriples
from exports.release import write_release
from ontology.graph import CatalogueGraph
from ontology.model import Catalogue


@dataclass(frozen=True)
class Release:
    folder: Path
    manifest: dict

    def file(self, name: str) -> dict | None:
        return next((f for f in self.manifest["files"] if f["name"] == name), None)


class _DigestWriter:
    """A binary 'file' that hashes what is written to it."""

    def __init__(self) -> None:
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def fingerprint(graph: CatalogueGraph) -> str:
    """A digest of the graph's canonical N-Triples: equal digests mean the very same graph."""
    sink = _DigestWriter()
    write_ntriples(graph.ordered_groups, sink)
    return sink.digest.hexdigest()


class ReleaseFolder:
    """The release of one graph, written on first use (once per process, or once per shared folder)."""

    def __init__(self, graph: CatalogueGraph, catalogue: Catalogue, folder: str | None) -> None:
        self.graph = graph
        self.catalogue = catalogue
        self.folder = folder
        self._release: Release | None = None
        self._lock = threading.Lock()

    def get(self) -> Release:
        found = self._release
        if found is not None:
            return found
        with self._lock:
            if self._release is None:
                self._release = self._write()
            return self._release

    def _write(self) -> Release:
        if self.folder:
            folder = Path(self.folder)
        else:
            folder = Path(tempfile.mkdtemp(prefix="ckg-downloads-")) / "release"
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(folder.parent / f".{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return write_or_reuse(self.graph, folder, self.catalogue.version, self.catalogue.modified)


def write_or_reuse(graph: CatalogueGraph, folder: Path, version: str | None, modified: str | None) -> Release:
    """The release of ``graph`` in ``folder``: the files already there when their fingerprint is this graph's,
    else written anew (replacing the folder whole). The caller holds the folder's lock."""
    print_ = fingerprint(graph)
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("metadata", {}).get("fingerprint") == print_:
            return Release(folder, manifest)
    metadata = {"base": graph.iris.base, "version": version, "modified": modified, "fingerprint": print_}
    write_release(graph, folder, metadata=metadata)
    return Release(folder, json.loads(manifest_path.read_text(encoding="utf-8")))
