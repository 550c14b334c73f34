"""Add the catalogue's mapping sets (``catalog/mappings/``) to a built graph.

The SKOS links go into the part of the competency they start from, so the JSON-LD writer shows
them inside that competency's node; the mapping records, the sets, and the labels that
``ckg link refresh`` stored for the linked concepts form the graph's ``mappings`` group, written last.
"""
from __future__ import annotations

from pathlib import Path

from pyoxigraph import BlankNode, NamedNode, RdfFormat, Triple, parse

from .graph import CatalogueGraph
from .namespaces import CKG, RDF
from .problems import Problem
from .sssom import MappingSet, direct_triples, load_mapping_sets, record_triples

MAPPINGS_DIR = "mappings"
LABEL_FILES = "*.ttl"
MAPPABLE_CLASSES = frozenset(CKG + name for name in ("Competency", "CompetencyLevel", "BehaviouralCriterion"))


def mappable_subjects(graph: CatalogueGraph) -> set[str]:
    """IRIs a mapping may start from: competencies, competency levels and criteria."""
    type_term, classes = NamedNode(RDF + "type"), {NamedNode(iri) for iri in MAPPABLE_CLASSES}
    return {t.subject.value for part in graph.parts for t in part  # term comparisons: no strings made per triple
            if t.predicate == type_term and t.object in classes}


def _label_triples(folder: Path, shown: str, problems: list[Problem]) -> list[Triple]:
    """Labels of linked concepts stored by ``ckg link refresh`` (Turtle, IRIs only)."""
    triples: list[Triple] = []
    for file in sorted(folder.glob(LABEL_FILES)):
        try:
            for triple in parse(path=str(file), format=RdfFormat.TURTLE):
                if isinstance(triple.subject, BlankNode) or isinstance(triple.object, BlankNode):
                    problems.append(Problem(f"{shown}/{file.name}", 1, 1, "blank nodes are not allowed here",
                                            "IRIs only, so exports stay deterministic; regenerate with 'ckg link refresh'"))
                    return []
                triples.append(Triple(triple.subject, triple.predicate, triple.object))
        except SyntaxError as error:
            problems.append(Problem(f"{shown}/{file.name}", getattr(error, "lineno", None) or 1, 1, f"not valid Turtle: {error}",
                                    "regenerate it with 'ckg link refresh'"))
    return triples


def attach_mappings(directory: Path | str, graph: CatalogueGraph) -> tuple[list[MappingSet], list[Problem]]:
    """Read ``directory/mappings``, check it against ``graph`` and add its triples; returns sets and problems.

    On problems nothing is added, so a caller that raises on problems never sees a half-linked graph.
    """
    folder = Path(directory) / MAPPINGS_DIR
    if not folder.is_dir() or not any(folder.iterdir()):
        return [], []  # nothing to attach: spare a large graph the scan for mappable subjects
    shown = f"{str(directory).rstrip('/') or '.'}/{MAPPINGS_DIR}"
    sets, problems = load_mapping_sets(folder, shown, mappable_subjects(graph), graph.iris.base)
    labels = _label_triples(folder, shown, problems) if folder.is_dir() else []
    if problems or not (sets or labels):
        return sets, problems
    part_of: dict[str, int] = {}
    for index, part in enumerate(graph.parts):
        for triple in part:
            part_of.setdefault(triple.subject.value, index)
    extra: list[Triple] = []
    for triple in direct_triples(sets):
        index = part_of.get(triple.subject.value)
        (graph.parts[index] if index is not None else extra).append(triple)
    extra.extend(record_triples(sets))
    extra.extend(labels)
    graph.mappings = extra
    return sets, problems
