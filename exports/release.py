"""Write every export of a built graph into a folder, all or nothing.

Files are written into a temporary sibling folder, each RDF file is parsed back and counted, a
manifest records sizes, checksums and counts, and only then is the folder swapped into place. If
anything fails, the previous release stays exactly as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ontology.graph import CatalogueGraph

from . import jsonld, table
from .rdf import count_triples, write_rdf

BASENAME = "catalogue"


@dataclass(frozen=True)
class ExportFile:
    name: str
    media_type: str
    bytes: int
    sha256: str
    triples: int | None = None
    rows: int | None = None


class ExportError(Exception):
    """An export that could not be completed; the previous release was left untouched."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rdf_writer(extension: str) -> Callable[[CatalogueGraph, Path], dict]:
    def write(graph: CatalogueGraph, path: Path) -> dict:
        with path.open("wb") as out:
            write_rdf(graph, out, extension)
        return {"triples": count_triples(str(path), extension)}
    return write


def _write_jsonld(graph: CatalogueGraph, path: Path) -> dict:
    with path.open("w", encoding="utf-8") as out:
        jsonld.write_dataset([graph.sorted_shared, *graph.parts], out)
    return {}


def _write_csv(graph: CatalogueGraph, path: Path) -> dict:
    with path.open("w", encoding="utf-8", newline="") as out:
        return {"rows": table.write_table(graph, out)}


EXPORTS: list[tuple[str, str, Callable[[CatalogueGraph, Path], dict]]] = [
    ("ttl", "text/turtle", _rdf_writer("ttl")),
    ("nt", "application/n-triples", _rdf_writer("nt")),
    ("rdf", "application/rdf+xml", _rdf_writer("rdf")),
    ("jsonld", "application/ld+json", _write_jsonld),
    ("csv", "text/csv", _write_csv),
]


def write_release(graph: CatalogueGraph, out_dir: Path, *, metadata: dict | None = None) -> list[ExportFile]:
    """Write all exports and a ``manifest.json`` to ``out_dir``, replacing it only on success."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        written = []
        expected = len(graph)
        for extension, media_type, writer in EXPORTS:
            path = staging / f"{BASENAME}.{extension}"
            counts = writer(graph, path)
            if counts.get("triples", expected) != expected:
                raise ExportError(f"{path.name} parsed back to {counts['triples']} triples, expected {expected}")
            written.append(ExportFile(path.name, media_type, path.stat().st_size, _sha256(path), **counts))
        manifest = {"metadata": metadata or {}, "triples": expected, "files": [asdict(f) for f in written]}
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        _swap_into_place(staging, out_dir)
        return written
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with renames, so readers see the old or the new release."""
    os.chmod(staging, 0o755)
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    retired.rmdir()
    out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except BaseException:
        retired.rename(out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)
