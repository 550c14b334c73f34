"""``/downloads/`` with ``--store``: the release files of the engine's graph, and how a full read is regrouped.

Embedded mode writes the files from its compiled graph the first time they are asked for
(:class:`~service.release_folder.ReleaseFolder`); here a child process (``service.store_write``, once for
every worker: ``service.background_write``) reads the graph once from the engine (one ``CONSTRUCT`` of
everything, as N-Triples), regroups it as the build groups it (the shared nodes, one part per competency
in slug order, the mappings last), hands it to the same release writer, and exits: only the files stay,
on disk, as in embedded mode. No worker holds the graph.

The regrouping follows ``ontology.build``: a statement belongs to the part of the competency its
subject's IRI is under, or that owns its subject (development offers), but ``X dct:replaces Y`` belongs
to Y's group (it is written with Y's deprecation); mapping sets, mapping records
(and the nodes under ``{base}mappings/``), the external concepts' names and the mapping links of nodes
outside any competency form the last group; the rest is shared.
"""
from __future__ import annotations

import json
from collections import defaultdict

from pyoxigraph import NamedNode

from exports.jsonld import EMBEDDED
from ontology.graph import CatalogueGraph, Statement
from ontology.iris import Iris
from ontology.namespaces import DCT, OWL, RDF, SKOS, SSSOM

from .engine import Engine
from .release_folder import Release, ReleaseFolder
from .site_files import SiteFiles

_RECORDS = {OWL + "Axiom", SSSOM + "MappingSet"}
_REPLACES = DCT + "replaces"


def read_whole(engine: Engine, base: str) -> CatalogueGraph:
    """Every statement of ``engine``'s graph, regrouped: the full read that files others download are written
    from, so its N-Triples are parsed strictly (``Engine.construct``): no file carries what a strict reader
    would reject."""
    return regroup(engine.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", lenient=False), base)


def regroup(triples: list, base: str) -> CatalogueGraph:
    """The statements grouped as the build groups them (module docstring)."""
    iris = Iris(base)
    by_subject: dict[str, list] = defaultdict(list)
    for t in triples:
        by_subject[t.subject.value].append(Statement(t.subject, t.predicate, t.object))
    owner: dict[str, str] = {}
    for subject in sorted(by_subject):
        slug = iris.competency_slug(subject)
        if slug is not None:
            owner[subject] = slug
    pending = list(owner)
    while pending:  # what a competency's nodes own (offers) is in its part too
        subject = pending.pop()
        for s in by_subject.get(subject, ()):
            if s[1].value in EMBEDDED and isinstance(s[2], NamedNode) and s[2].value not in owner:
                owner[s[2].value] = owner[subject]
                pending.append(s[2].value)
    records = {subject for subject, statements in by_subject.items()
               if any(s[1].value == RDF + "type" and s[2].value in _RECORDS for s in statements)}
    parts: dict[str, list] = defaultdict(list)
    shared, mappings = [], []
    for subject, statements in by_subject.items():
        replaces = [s for s in statements if s[1].value == _REPLACES]
        if replaces:  # written with the deprecation of its object, in the object's group (ontology.build)
            statements = [s for s in statements if s[1].value != _REPLACES]
            for s in replaces:
                (parts[owner[s[2].value]] if s[2].value in owner else shared).append(s)
        if subject in owner:
            parts[owner[subject]].extend(statements)
        elif subject in records or not subject.startswith(base) or subject.startswith(base + "mappings/"):
            mappings.extend(statements)
        else:
            for s in statements:
                is_link = s[1].value.startswith(SKOS) and s[1].value.endswith("Match")
                (mappings if is_link else shared).append(s)
    return CatalogueGraph(iris=iris, shared=shared, parts=[parts[slug] for slug in sorted(parts)], mappings=mappings)


class StoreReleaseFolder(ReleaseFolder):
    """The release of the engine's graph, written once per site by a child process (``service.site_files``,
    ``service.background_write``)."""

    def __init__(self, files: SiteFiles) -> None:
        super().__init__(None, None, str(files.downloads))  # type: ignore[arg-type]  # the graph exists only in the child
        self.files = files

    def get(self) -> Release:
        return self.files.site().loaded(
            lambda folder: Release(folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8"))))
