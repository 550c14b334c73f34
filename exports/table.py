"""The competency × level × criterion table, for people who live in spreadsheets."""
from __future__ import annotations

import csv
from collections import defaultdict
from typing import TextIO

from pyoxigraph import Literal, NamedNode, Triple

from ontology.graph import CatalogueGraph
from ontology.namespaces import CKG, RDF, SKOS

_TYPE, _LABEL = RDF + "type", SKOS + "prefLabel"


def _index(triples: list[Triple]) -> dict[str, dict[str, list]]:
    index: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for t in triples:
        index[t.subject.value][t.predicate.value].append(t.object)
    return index


def _texts(values: list, languages: list[str]) -> list[str]:
    by_language = {v.language: v.value for v in values if isinstance(v, Literal) and v.language}
    return [by_language.get(language, "") for language in languages]


def _languages(graph: CatalogueGraph) -> list[str]:
    """Languages of the texts, Dutch (the source) first."""
    found = {t.object.language for t in graph.shared if isinstance(t.object, Literal) and t.object.language}
    for part in graph.parts:
        found.update(t.object.language for t in part if isinstance(t.object, Literal) and t.object.language)
    return sorted(found, key=lambda language: (language != "nl", language))


def write_table(graph: CatalogueGraph, out: TextIO) -> int:
    """Write one row per criterion, in catalogue order; returns the number of data rows."""
    languages = _languages(graph)
    shared = _index(graph.shared)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["competency", "competency_slug", *[f"competency_{l}" for l in languages], "cluster",
                     "level", "level_rank", *[f"level_{l}" for l in languages],
                     "criterion", "criterion_position", *[f"criterion_{l}" for l in languages]])
    rows = 0
    for part in graph.parts:
        index = _index(part)
        competencies = sorted(s for s, p in index.items() if NamedNode(CKG + "Competency") in p[_TYPE])
        for competency in competencies:
            node = index[competency]
            cluster = next((o.value for o in node[SKOS + "broader"]), "")
            levels = sorted((index[l.value] for l in node[CKG + "hasLevel"]), key=lambda n: int(n[CKG + "rank"][0].value))
            for level in levels:
                level_iri = level[CKG + "level"][0].value
                criteria = sorted(((c.value, index[c.value]) for c in level[CKG + "hasCriterion"]),
                                  key=lambda item: int(item[1][CKG + "position"][0].value))
                for criterion_iri, criterion in criteria:
                    writer.writerow([competency, competency.rsplit("/", 1)[1], *_texts(node[_LABEL], languages), cluster,
                                     level_iri, level[CKG + "rank"][0].value, *_texts(shared[level_iri][_LABEL], languages),
                                     criterion_iri, criterion[CKG + "position"][0].value,
                                     *_texts(criterion[CKG + "statement"], languages)])
                    rows += 1
    return rows
