"""Check a built graph against ontology/shapes.ttl and report violations where the YAML has to change.

Two engines evaluate the same shapes file. pyshacl, the reference, checks every graph of up to
``PYSHACL_MAX_TRIPLES`` triples (the bundled catalogue, the tests' catalogues). Beyond that its
~0.1 ms per focus node and property shape would take minutes, so the compiled engine
(``shacl_compiled``) takes over; it refuses any shape feature it does not implement, and the test
suite requires both engines to report identical findings on the same broken graphs.
"""
from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Literal as Choice

import rdflib

from . import shacl_compiled
from .graph import CatalogueGraph, to_rdflib_memory
from .namespaces import SH
from .problems import Problem

SHAPES_FILE = files("ontology") / "shapes.ttl"
PYSHACL_MAX_TRIPLES = 20_000
SPLIT_FROM = 200_000
"""Triples from which sharing the compiled check out over several processes pays for the forks."""
Engine = Choice["auto", "pyshacl", "compiled"]
_SH = rdflib.Namespace(SH)


@cache
def shapes_graph() -> rdflib.Graph:
    return rdflib.Graph().parse(data=SHAPES_FILE.read_text(encoding="utf-8"), format="turtle")


@cache
def compiled_shapes() -> list[shacl_compiled.NodeShape]:
    """The shapes as Python checks, compiled once per process (bench/claims.py warms it before timing)."""
    return shacl_compiled.compile_shapes(shapes_graph())


def _path_text(report: rdflib.Graph, path: rdflib.term.Node | None) -> str:
    if isinstance(path, rdflib.URIRef):
        return str(path)
    inverse = report.value(path, _SH.inversePath) if path is not None else None
    return f"^{inverse}" if isinstance(inverse, rdflib.URIRef) else ""


def pyshacl_findings(graph: CatalogueGraph) -> list[shacl_compiled.Finding]:
    """Violations as pyshacl reports them, in the compiled engine's (focus, path, message, component) form."""
    import pyshacl  # only small graphs use it; its import costs every other command ~0.2 s

    conforms, report, _ = pyshacl.validate(to_rdflib_memory(graph.statements()), shacl_graph=shapes_graph(),
                                           inference="none", advanced=False, allow_warnings=True)
    if conforms:
        return []
    found = set()
    for result in report.subjects(rdflib.RDF.type, _SH.ValidationResult):
        if report.value(result, _SH.resultSeverity) != _SH.Violation:
            continue
        component = str(report.value(result, _SH.sourceConstraintComponent)).rsplit("#", 1)[-1]
        found.add((str(report.value(result, _SH.focusNode)), _path_text(report, report.value(result, _SH.resultPath)),
                   str(report.value(result, _SH.resultMessage)), component))
    return sorted(found)


def compiled_findings(graph: CatalogueGraph, *, processes: int = 1) -> list[shacl_compiled.Finding]:
    """The compiled engine's findings; on large graphs shared out over ``processes`` forked processes."""
    shares = processes if len(graph) >= SPLIT_FROM else 1
    return shacl_compiled.validate(graph.statements(), compiled_shapes(), processes=shares)


def choose_engine(graph: CatalogueGraph, engine: Engine = "auto") -> Choice["pyshacl", "compiled"]:
    if engine != "auto":
        return engine
    if len(graph) <= PYSHACL_MAX_TRIPLES:
        return "pyshacl"
    try:
        compiled_shapes()
    except shacl_compiled.UnsupportedShapes:
        return "pyshacl"  # correct but slow: the shapes use something only pyshacl implements
    return "compiled"


def validate_graph(graph: CatalogueGraph, *, engine: Engine = "auto", processes: int = 1) -> list[Problem]:
    """Every SHACL violation in ``graph``, each placed at the YAML entity it comes from.

    ``processes`` > 1 lets the compiled engine use more cores; callers that already run the check
    beside other work (the export writers) leave it at 1.
    """
    chosen = choose_engine(graph, engine)
    findings = pyshacl_findings(graph) if chosen == "pyshacl" else compiled_findings(graph, processes=processes)
    problems = set()
    for focus, path, message, _component in findings:
        source = graph.source_of(focus)
        where = (source.path, source.line) if source else ("(graph)", 1)
        shown_path = f" {path}" if path else ""
        problems.add(Problem(where[0], where[1], 1, f"SHACL: <{focus}>{shown_path}: {message}",
                             "a graph that conforms to ontology/shapes.ttl"))
    return sorted(problems)
