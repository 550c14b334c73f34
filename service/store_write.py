"""``python -m service.store_write``: the child process that writes what a site derives from its engine.

Started by ``service.background_write`` (read its docstring for why a child), with its job in the
environment variable it names; the kinds of job are ``service.site_files``'s:

- ``whole``: one full read of the engine's graph, regrouped as the build groups it
  (``service.store_downloads.read_whole``), gives the release files embedded mode writes (``site``; reused
  when the folder already holds this very graph) and the two CASE packages and their index (``case``,
  ``service.case_files``): first the part that was asked for, with its marker at once, then the other
  unless it is written already, so a site reads its graph once for both;
- ``changes``: every release's change set, derived in the engine (``service.store_releases``), one JSON
  file per version;
- ``release``: one release's files and its ``changes.json``.

The marker that tells every worker the folder is complete is written last. The last line of output is what
a failure says to clients, so failures are written as one plain sentence.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from exports.case import write_files
from exports.release import BASENAME
from ontology.graph import CatalogueGraph
from ontology.namespaces import DCAT, DCT

from .background_write import JOB_VARIABLE, marked
from .case_files import INDEX, write_index
from .engine import Engine, EngineError
from .release_folder import write_or_reuse
from .store_downloads import read_whole
from .store_releases import ReleaseCatalogue, StoreArchive


def write_site(graph: CatalogueGraph, base: str, folder: Path) -> None:
    """The release of ``graph`` in ``folder``."""
    dataset = {s[1].value: s[2].value for s in graph.shared if s[0].value == base}
    write_or_reuse(graph, folder, dataset.get(DCAT + "version"), dataset.get(DCT + "modified"))


def write_case(graph: CatalogueGraph, folder: Path) -> None:
    """The CASE packages of ``graph`` in ``folder``, and their index."""
    folder.mkdir(parents=True, exist_ok=True)
    write_files(graph, folder, BASENAME)
    write_index(folder, folder / INDEX)


def write_whole(engine: Engine, job: dict) -> None:
    """The part asked for, then the other from the same full read: each needs the whole graph, and reading it
    twice cost a second full read (a minute at 20,000 competencies). Each part's marker is written as soon as
    that part is, so its waiters do not wait for the other; a part another child wrote already is skipped.
    The graph stays in memory until both are written, the CASE index included: the child peaks at ~3.1 GiB
    at 20,000 competencies instead of ~2.7 (bench/RESULTS.md, "Session 9: one full read")."""
    graph = read_whole(engine, job["base"])
    for part, folder, marker in ((job["part"], job["folder"], job["marker"]),
                                 (job["then"], job["then_folder"], job["then_marker"])):
        if marked(Path(marker), job["token"]):
            continue
        if part == "site":
            write_site(graph, job["base"], Path(folder))
        else:
            write_case(graph, Path(folder))
        Path(marker).write_text(job["token"], encoding="utf-8")


def run(job: dict) -> None:
    """Do ``job`` (module docstring)."""
    engine, folder = Engine(job["store"], job["graph"], timeout=job["timeout"]), Path(job["folder"])
    if job["kind"] == "whole":
        write_whole(engine, job)
        return
    archive = StoreArchive(ReleaseCatalogue(engine, job["base"]))
    folder.mkdir(parents=True, exist_ok=True)
    if job["kind"] == "changes":
        for version, change_set in archive.derive_change_sets().items():
            (folder / f"{version}.json").write_text(json.dumps(change_set, ensure_ascii=False), encoding="utf-8")
    else:
        archive.write_files(job["version"], folder)


def main() -> int:
    job = json.loads(os.environ[JOB_VARIABLE])
    try:
        run(job)
    except EngineError as error:
        print(error.message, flush=True)
        return 1
    except Exception as error:  # noqa: BLE001 — said in one line to the clients that wait; the log keeps the rest
        traceback.print_exc()
        print(f"{type(error).__name__}: {error}", flush=True)
        return 1
    Path(job["marker"]).write_text(job["token"], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
