"""The whole check-and-build path, YAML and mapping files to a conforming graph, as one call.

It sits above ``ontology`` (YAML → model → graph → SHACL) and ``linking`` (the catalogue's SSSOM
mapping files), which know nothing of each other: the mappings are read and checked against the
model, then handed to the builder, so the graph is complete when it is made and never changed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from linking.catalogue import read_catalogue_mappings
from linking.sssom import MappingSet
from ontology.build import GraphBuilder
from ontology.graph import CatalogueGraph
from ontology.loader import load_catalogue
from ontology.model import Catalogue
from ontology.parallel import cycle_collector_paused, processes
from ontology.problems import CatalogueError
from ontology.shacl import validate_graph


@dataclass(frozen=True)
class Compiled:
    """A checked catalogue: its model, its built graph, and the mapping sets that graph holds."""

    catalogue: Catalogue
    graph: CatalogueGraph
    mapping_sets: list[MappingSet] = field(default_factory=list)


def compile_catalogue(directory: Path | str, *, base: str | None = None, jobs: int | None = None,
                      shacl: bool = True, timings: dict[str, float] | None = None) -> Compiled:
    """Load, check and build the catalogue; raises :class:`CatalogueError` with every problem.

    A graph that fails its SHACL shapes is never returned, so nothing half-built gets published.
    ``jobs`` processes (default: one per core) read the YAML files and share out the compiled SHACL
    check of large graphs. ``timings``, if given, receives the seconds spent in each phase (for
    benchmarks and --timings).
    """
    clock = _Clock(timings)
    with cycle_collector_paused(freeze_survivors=True):  # millions of acyclic tuples: see ontology.parallel
        return _compile(directory, base, jobs, shacl, clock)


def _compile(directory: Path | str, base: str | None, jobs: int | None, shacl: bool, clock: "_Clock") -> Compiled:
    builder = GraphBuilder()  # each competency's triples are built while the other files are still read
    catalogue = load_catalogue(directory, base=base, jobs=jobs, on_competency=builder.add)
    clock.lap("load+check+build")
    mappings, mapping_problems = read_catalogue_mappings(directory, catalogue)
    clock.lap("mappings")
    if mapping_problems:
        raise CatalogueError(mapping_problems)
    graph = builder.graph(catalogue, links=mappings.links, mappings=mappings.records)
    clock.lap("assemble")
    if shacl:
        problems = validate_graph(graph, processes=processes(jobs))
        clock.lap("shacl")
        if problems:
            raise CatalogueError(problems)
    return Compiled(catalogue, graph, mappings.sets)


class _Clock:
    def __init__(self, timings: dict[str, float] | None):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[phase] = now - self.last
        self.last = now
