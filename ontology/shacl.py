"""Run the SHACL shapes over a built graph and report violations where the YAML has to change.

pyshacl is thorough but spends milliseconds per focus node, so a large catalogue is checked
part by part — every shape looks only at a competency's own subtree plus the shared nodes it
points to — and the parts are spread over worker processes.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from importlib.resources import files
from itertools import chain

import pyshacl
import rdflib
from pyoxigraph import Triple

from .graph import CatalogueGraph, to_rdflib_memory
from .problems import Problem

SHAPES_FILE = files("ontology") / "shapes.ttl"
CHUNK = 250
"""Competencies per pyshacl run: big enough to amortise its start-up, small enough to spread."""
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


@cache
def _shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(data=SHAPES_FILE.read_text(encoding="utf-8"), format="turtle")


def _violations(triples: list[Triple]) -> list[tuple[str, str, str]]:
    """(focus node, path, message) of every violation in this part of the graph."""
    conforms, report, _ = pyshacl.validate(to_rdflib_memory(triples), shacl_graph=_shapes(), inference="none",
                                           advanced=False, allow_warnings=True)
    if conforms:
        return []
    found = []
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        path_text = path.n3(_shapes().namespace_manager) if isinstance(path, rdflib.URIRef) else "(path)"
        found.append((str(focus), path_text, str(message)))
    return found


def validate_graph(graph: CatalogueGraph, *, jobs: int | None = None) -> list[Problem]:
    """Every SHACL violation in ``graph``, each placed at the YAML entity it comes from."""
    chunks = [list(chain(graph.shared, *graph.parts[i:i + CHUNK])) for i in range(0, len(graph.parts), CHUNK)]
    chunks = chunks or [list(graph.shared)]
    workers = min(jobs if jobs is not None else (os.cpu_count() or 1), len(chunks))
    if workers <= 1:
        results = list(map(_violations, chunks))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_violations, chunks))
    problems = set()
    for focus, path, message in chain.from_iterable(results):
        source = graph.source_of(focus)
        where = (source.path, source.line) if source else ("(graph)", 1)
        problems.add(Problem(where[0], where[1], 1, f"SHACL: <{focus}> {path}: {message}",
                             "a graph that conforms to ontology/shapes.ttl"))
    return sorted(problems)
