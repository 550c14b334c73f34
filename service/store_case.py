"""The CASE 1.1 API and the Open Badges alignments of a site served from an engine (``ckg serve --store``).

``service.case`` answers from a :class:`~service.case_api.CaseApi`, which is built from a compiled graph.
Here there is none, so:

- the CASE endpoints and packages use a ``CaseApi`` built on their first request from one full read of the
  engine's graph, regrouped as the build groups it (``service.store_downloads.regroup``, as ``/downloads/``
  is written), then kept for the life of the site (a publish that switches the graph makes a new site);
- the alignment block of every competency page, and ``{IRI}/alignment``, must not cost a full read: each is
  built from a small graph of the catalogue's shared nodes (read once: dataset, scheme, clusters, generic
  levels) and the one competency it is about (one query). An alignment reads nothing else of the
  framework: its item, its type, its criteria and the framework's title.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from ontology.graph import CatalogueGraph, Statement

from .case_api import Answer, CaseApi
from .engine import iri
from .store_catalogue import StoreCatalogue, owned
from .store_downloads import regroup


def _statements(triples: list) -> list[Statement]:
    return [Statement(t.subject, t.predicate, t.object) for t in triples]


class StoreCase:
    """What ``service.case`` asks of ``site.case``, answered from the engine (module docstring)."""

    def __init__(self, catalogue: StoreCatalogue):
        self.catalogue = catalogue
        self.base = catalogue.base
        self._api: CaseApi | None = None
        self._shared: list[Statement] | None = None
        self._lock = threading.Lock()

    # ---- the API: one full read, on first use ----

    def api(self) -> CaseApi:
        found = self._api
        if found is not None:
            return found
        with self._lock:
            if self._api is None:
                triples = self.catalogue.engine.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
                self._api = CaseApi(regroup(triples, self.base))
            return self._api

    def answer(self, endpoint: str, identifier: str | None, args: Mapping[str, Sequence[str]]) -> Answer:
        return self.api().answer(endpoint, identifier, args)

    def package_file(self, identifier: str) -> Path | None:
        return self.api().package_file(identifier)

    # ---- alignments: the shared nodes and one competency ----

    def shared(self) -> list[Statement]:
        """The statements of the nodes outside any competency and the mappings (read once; a few hundred)."""
        with self._lock:
            if self._shared is None:
                base = self.base
                self._shared = _statements(self.catalogue.engine.construct(f"""
                    CONSTRUCT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o .
                      FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{base}") && !STRSTARTS(STR(?s), "{base}competency/")
                             && !STRSTARTS(STR(?s), "{base}mappings/") && !STRSTARTS(STR(?s), "{base}release/")) }}"""))
            return self._shared

    def alignment(self, node: str, language: str) -> dict[str, Any] | None:
        """The Open Badges alignment of a competency or competency level (``CaseApi.alignment``), else None."""
        competency = node.split("/level/")[0]
        slug = competency[len(self.base + "competency/"):]
        if not competency.startswith(self.base + "competency/") or not slug or "/" in slug:
            return None
        try:
            subject = iri(competency)
        except ValueError:
            return None
        part = _statements(self.catalogue.engine.construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {owned(subject, '?s', '?s ?p ?o')} }}"))
        if not part:
            return None
        graph = CatalogueGraph(iris=self.catalogue.iris, shared=self.shared(), parts=[part], mappings=[])
        return CaseApi(graph).alignment(node, language)
