"""Write every export of a built graph into a folder, all or nothing.

Files are written into a temporary sibling folder; a manifest records sizes, checksums and
counts; only then is the folder swapped into place. If anything fails, the previous release stays
exactly as it was. On large graphs the RDF dumps, the nested dumps (JSON-LD, CSV) and the check
(SHACL) run in three processes at once: the last two are forked, so they share the built graph
without copying it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from ontology.graph import CatalogueGraph
from ontology.parallel import processes, side_by_side
from ontology.problems import CatalogueError

from . import case, jsonld, sssom
from .rdf import write_rdf
from .swap import clear_leftovers, exclusive, kill_point, staging_folder, swap_in
from .verify import parsed_count
from .table import TableWriter, languages_of

BASENAME = "catalogue"
PARALLEL_FROM = 100_000
"""Triples from which forking a second writer pays for itself."""
MEDIA_TYPES = {"ttl": "text/turtle", "nt": "application/n-triples", "rdf": "application/rdf+xml",
               "jsonld": "application/ld+json", "csv": "text/csv",
               sssom.TSV_SUFFIX: "text/tab-separated-values", sssom.JSON_SUFFIX: "application/json",
               **{suffix: "application/json" for suffix in case.FILE_SUFFIXES.values()}}


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


def _write_rdf_files(graph: CatalogueGraph, folder: Path) -> dict[str, int]:
    for extension in ("ttl", "nt", "rdf"):
        with (folder / f"{BASENAME}.{extension}").open("wb") as out:
            write_rdf(graph, out, extension)
    return {}


def _write_nested_files(graph: CatalogueGraph, folder: Path) -> dict[str, int]:
    """JSON-LD and CSV in one pass over the nested nodes, which both are made of."""
    groups = graph.ordered_groups
    shared_nodes = list(jsonld.root_nodes([groups[0]]))
    level_names = {n["id"]: n.get("prefLabel", {}) for n in shared_nodes if "ProficiencyLevel" in n.get("type", ())}
    with (folder / f"{BASENAME}.jsonld").open("wb") as json_out, \
            (folder / f"{BASENAME}.csv").open("w", encoding="utf-8", newline="") as csv_out:
        table = TableWriter(csv_out, languages_of(level_names.values()), level_names)

        def nodes():
            yield from shared_nodes
            for node in jsonld.root_nodes(groups[1:]):
                table.add(node)
                yield node

        jsonld.write_dataset(nodes(), json_out)
    return {"rows": table.rows}


def _forks_pay(graph: CatalogueGraph) -> bool:
    """Forked helpers for large graphs; one process where forking would cost more than it saves."""
    return len(graph) >= PARALLEL_FROM


def write_checked_file(graph: CatalogueGraph, path: Path, write: Callable[[BinaryIO], None],
                       check: Callable[[], list]) -> None:
    """Write one file with ``write`` while ``check`` runs; it replaces ``path`` only if the check finds nothing.

    On large graphs the writer is the forked helper and the check keeps this process, so the check
    may fork helpers of its own (a forked helper may not). The file is written beside ``path`` and
    renamed into place: a reader never sees half a file, and a failed check or write leaves the
    previous file exactly as it was.
    """
    path = Path(path)
    with exclusive(path):  # as for exports: one writer at a time, a killed run's temporary file removed first
        clear_leftovers(path)
        _write_checked_file(graph, path, write, check)


def _write_checked_file(graph: CatalogueGraph, path: Path, write: Callable[[BinaryIO], None],
                        check: Callable[[], list]) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)

    def write_file() -> None:
        with open(temporary, "wb") as out:
            write(out)

    try:
        kill_point("staged")
        problems, _ = side_by_side(check, write_file, fork=_forks_pay(graph), failure=ExportError)
        if problems:
            raise CatalogueError(problems)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_all(graph: CatalogueGraph, folder: Path, check: Callable[[], list] | None) -> tuple[dict[str, int], list]:
    """Write every file into ``folder`` and run ``check``; on large graphs all three at once."""
    graph.sort_before_forking()
    counts, problems, nested = side_by_side(lambda: _write_rdf_files(graph, folder), check or list,
                                            lambda: _write_nested_files(graph, folder),
                                            fork=_forks_pay(graph), failure=ExportError)
    return {**counts, **nested}, problems


def write_release(graph: CatalogueGraph, out_dir: Path, *, metadata: dict | None = None,
                  verify: bool = False, check: Callable[[], list] | None = None) -> list[ExportFile]:
    """Write all exports and a ``manifest.json`` to ``out_dir``, replacing it only on success.

    ``check`` (e.g. the SHACL validation) runs while the files are written; if it returns
    problems, nothing is published and :class:`CatalogueError` carries them. With ``verify``,
    every file is parsed back (exports/verify.py) and must hold exactly what was meant: the graph's
    triple count for the RDF dumps (JSON-LD included), the row and mapping counts for the tables.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(out_dir):  # exports/swap.py: one run at a time, a killed run's leftovers cleared first
        clear_leftovers(out_dir)
        return _write_release(graph, out_dir, metadata, verify, check)


def _write_release(graph: CatalogueGraph, out_dir: Path, metadata: dict | None, verify: bool,
                   check: Callable[[], list] | None) -> list[ExportFile]:
    staging = staging_folder(out_dir)
    try:
        kill_point("staged")
        counts, problems = _write_all(graph, staging, check)
        if problems:
            raise CatalogueError(problems)
        counts.update(sssom.write_files(graph, staging, BASENAME))
        counts.update(case.write_files(graph, staging, BASENAME))
        expected = len(graph)
        with ThreadPoolExecutor(max_workers=processes()) as pool:  # hashlib hashes big blocks without the GIL
            digests = dict(zip(MEDIA_TYPES, pool.map(_sha256, (staging / f"{BASENAME}.{e}" for e in MEDIA_TYPES))))
        written = []
        for extension, media_type in MEDIA_TYPES.items():
            path = staging / f"{BASENAME}.{extension}"
            if extension in case.FILE_SUFFIXES.values():
                unit, meant = "rows", counts[f"case-items-{extension}"]  # rows: the package's CFItems
            elif extension in ("csv", sssom.TSV_SUFFIX, sssom.JSON_SUFFIX):
                unit, meant = "rows", counts["rows"] if extension == "csv" else counts["mappings"]
            else:
                unit, meant = "triples", expected
            if verify:
                found = _parsed(path, extension)
                if found != meant:
                    raise ExportError(f"{path.name} parsed back to {found} {unit}, expected {meant}")
            extra = {} if extension == "jsonld" else {unit: meant}  # the manifest's JSON-LD entry stays as it was
            written.append(ExportFile(path.name, media_type, path.stat().st_size, digests[extension], **extra))
        manifest = {"metadata": metadata or {}, "triples": expected, "files": [asdict(f) for f in written]}
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        kill_point("written")
        swap_in(staging, out_dir)
        return written
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _parsed(path: Path, extension: str) -> int:
    """What a reader finds in ``path``; a file that does not parse is a failed export, not a traceback."""
    try:
        return parsed_count(path, extension)
    except (SyntaxError, ValueError, UnicodeDecodeError) as error:
        raise ExportError(f"{path.name} does not parse back: {error}") from None

