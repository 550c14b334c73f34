"""A catalogue's own mapping files (``catalog/mappings/``), read and checked before its graph is built.

They are catalogue data like the YAML: read once, checked against the catalogue's model (a row
may only start from something the catalogue defines), and handed to the graph builder as
statements, so the graph is complete when it is made and never changed afterwards. The SKOS
links go into the part of the competency they start from, so the JSON-LD writer shows them inside
that competency's node; the mapping records, the sets, and the labels that ``ckg link refresh``
stored for the linked concepts form the graph's ``mappings`` group, written last.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import BlankNode, Literal, RdfFormat, Triple, parse

from ontology.confine import leaves, outside_problem
from ontology.iris import Iris
from ontology.model import Catalogue
from ontology.problems import Problem
from ontology.yamldoc import UNCARRIABLE

from .sssom import MappingSet, load_mapping_sets
from .sssom_rdf import direct_triples, record_triples

MAPPINGS_DIR = "mappings"
LABEL_FILES = "*.ttl"


@dataclass(frozen=True)
class CatalogueMappings:
    """What a catalogue's mapping folder adds to its graph, and the checked sets it came from."""

    sets: list[MappingSet] = field(default_factory=list)
    links: list[Triple] = field(default_factory=list)
    """The direct SKOS links, one per mapped pair, for the parts of the competencies they start from."""
    records: list[Triple] = field(default_factory=list)
    """The sets, their records and the stored labels of linked concepts: the graph's ``mappings`` group."""


def mappable_subjects(catalogue: Catalogue) -> set[str]:
    """IRIs a mapping may start from: competencies, competency levels and criteria.

    Taken from the checked model, not from a graph: the mappings are read before the graph is
    built, and a large catalogue is spared a scan of millions of triples.
    """
    iris = Iris(catalogue.base)
    known: set[str] = set()
    for competency in catalogue.competencies:
        known.add(iris.competency(competency.slug))
        for level in competency.levels:
            known.add(iris.competency_level(competency.slug, level.rank))
            known.update(iris.criterion(competency.slug, level.rank, c.position) for c in level.criteria)
    return known


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
                if isinstance(triple.object, Literal) and UNCARRIABLE.search(triple.object.value):
                    problems.append(Problem(f"{shown}/{file.name}", 1, 1, f"a text of {triple.subject} holds a control character",
                                            _CHARACTERS))
                    return []
                triples.append(Triple(triple.subject, triple.predicate, triple.object))
        except SyntaxError as error:
            problems.append(Problem(f"{shown}/{file.name}", getattr(error, "lineno", None) or 1, 1, f"not valid Turtle: {error}",
                                    "regenerate it with 'ckg link refresh'"))
    return triples


_CHARACTERS = "text without control characters other than tab and line break (RDF/XML cannot carry them)"


def _raw_characters(file: Path, shown: str) -> list[Problem]:
    """The first character of a mapping table that an export cannot carry, at its line and column.

    The table's cells become literals of the graph (labels, comments, authors) like the YAML's texts,
    under the same rule; a carriage return ending a line (a file saved on Windows) is a line break.
    """
    text = file.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
    found = UNCARRIABLE.search(text)
    if found is None:
        return []
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return [Problem(shown, line, column, f"holds the control character U+{ord(found.group()):04X}", _CHARACTERS)]


def read_catalogue_mappings(directory: Path | str, catalogue: Catalogue) -> tuple[CatalogueMappings, list[Problem]]:
    """Read and check ``directory/mappings`` against ``catalogue``; every problem is returned at once.

    On problems the result adds nothing to the graph, so a caller that raises on problems never
    builds a half-linked graph.
    """
    folder = Path(directory) / MAPPINGS_DIR
    if not folder.is_dir() or not any(folder.iterdir()):
        return CatalogueMappings(), []
    shown = f"{str(directory).rstrip('/') or '.'}/{MAPPINGS_DIR}"
    outside = [outside_problem(f"{shown}/{entry.name}") for entry in sorted(folder.iterdir()) if leaves(Path(directory), entry)]
    if outside:  # nothing of the folder is read while part of it lies elsewhere
        return CatalogueMappings(), outside
    sets, problems = load_mapping_sets(folder, shown, mappable_subjects(catalogue), catalogue.base)
    problems += [p for file in sorted(folder.glob("*.sssom.tsv")) for p in _raw_characters(file, f"{shown}/{file.name}")]
    labels = _label_triples(folder, shown, problems)
    if problems:
        return CatalogueMappings(sets), problems
    return CatalogueMappings(sets, direct_triples(sets), record_triples(sets) + labels), []
