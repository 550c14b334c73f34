"""The whole check-and-build path, YAML to conforming graph, as one call for every consumer."""
from __future__ import annotations

import os
import time
from pathlib import Path

from .build import GraphBuilder
from .gcpause import cycle_collector_paused
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
    ``jobs`` processes (default: one per core) read the YAML files and share out the compiled SHACL
    check of large graphs. ``timings``, if given, receives the seconds spent in each phase (for
    benchmarks and --timings).
    """
    clock = _Clock(timings)
    with cycle_collector_paused(freeze_survivors=True):  # millions of acyclic tuples: see gcpause
        return _compile(directory, base, jobs, shacl, clock)


def _compile(directory: Path | str, base: str | None, jobs: int | None, shacl: bool,
             clock: "_Clock") -> tuple[Catalogue, CatalogueGraph]:
    builder = GraphBuilder()  # each competency's triples are built while the other files are still read
    catalogue = load_catalogue(directory, base=base, jobs=jobs, on_competency=builder.add)
    clock.lap("load+check+build")
    graph = builder.graph(catalogue)
    clock.lap("assemble")
    _, mapping_problems = attach_mappings(directory, graph)
    clock.lap("mappings")
    if mapping_problems:
        raise CatalogueError(mapping_problems)
    if shacl:
        problems = validate_graph(graph, processes=jobs or os.cpu_count() or 1)
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
