"""The whole check-and-build path, YAML to conforming graph, as one call for every consumer."""
from __future__ import annotations

from pathlib import Path

from .build import build_graph
from .graph import CatalogueGraph
from .loader import load_catalogue
from .model import Catalogue
from .problems import CatalogueError
from .shacl import validate_graph


def compile_catalogue(directory: Path | str, *, base: str | None = None, jobs: int | None = None,
                      shacl: bool = True) -> tuple[Catalogue, CatalogueGraph]:
    """Load, check and build the catalogue; raises :class:`CatalogueError` with every problem.

    A graph that fails its SHACL shapes is never returned, so nothing half-built gets published.
    """
    catalogue = load_catalogue(directory, base=base, jobs=jobs)
    graph = build_graph(catalogue)
    if shacl:
        problems = validate_graph(graph, jobs=jobs)
        if problems:
            raise CatalogueError(problems)
    return catalogue, graph
