"""The whole check-and-build path, YAML to conforming graph, as one call for every consumer."""
from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from pathlib import Path

from .build import build_graph
from .graph import CatalogueGraph
from .loader import load_catalogue
from .mappings import attach_mappings
from .model import Catalogue
from .problems import CatalogueError
from .shacl import validate_graph


def compile_catalogue(directory: Path | str, *, base: str | None = None, jobs: int | None = None,
                      shacl: bool = True, timings: dict[str, float] | None = None) -> tuple[Catalogue, CatalogueGraph]:
    """Load, check and build the catalogue; raises :class:`CatalogueError` with every problem.

    A graph that fails its SHACL shapes is never returned, so nothing half-built gets published.
    ``timings``, if given, receives the seconds spent in each phase (for benchmarks and --timings).
    """
    clock = _Clock(timings)
    with _no_cycle_collection():
        return _compile(directory, base, jobs, shacl, clock)


@contextmanager
def _no_cycle_collection():
    """Pause Python's cycle collector while millions of acyclic tuples are made.

    Each full collection walks every live object, and allocating millions of them triggers one
    after another: superlinear time for garbage that does not exist (the model and the statements
    hold no reference cycles). Objects that survive are frozen, so later collections, and forked
    export writers, leave them alone (no copy-on-write of the shared pages).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _compile(directory: Path | str, base: str | None, jobs: int | None, shacl: bool,
             clock: "_Clock") -> tuple[Catalogue, CatalogueGraph]:
    catalogue = load_catalogue(directory, base=base, jobs=jobs)
    clock.lap("load+check")
    graph = build_graph(catalogue)
    clock.lap("build")
    _, mapping_problems = attach_mappings(directory, graph)
    clock.lap("mappings")
    if mapping_problems:
        raise CatalogueError(mapping_problems)
    if shacl:
        problems = validate_graph(graph)
        clock.lap("shacl")
        if problems:
            raise CatalogueError(problems)
    return catalogue, graph


class _Clock:
    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[phase] = now - self.last
        self.last = now
