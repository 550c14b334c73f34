"""The CASE 1.1 API and the Open Badges alignments of a site served from an engine (``ckg serve --store``).

``service.case`` answers from a :class:`~service.case_api.CaseApi`, which is built from a compiled graph.
Here there is none, so:

- the CASE endpoints and packages use a ``CaseApi`` built on their first request from one full read of the
  engine's graph, regrouped as the build groups it (``service.store_downloads.regroup``, as ``/downloads/``
  is written), then kept for the life of the site (a publish that switches the graph makes a new site);
- the alignment block of every competency page, and ``{IRI}/alignment``, must not cost a full read: each is
  built from a small graph of the catalogue's shared nodes (read once: dataset, scheme, clusters, generic
  levels) and the one competency it is about (one query, kept for the next pages of that competency). An
  alignment reads nothing else of the framework: its item, its type, its criteria and the framework's title.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping, Sequence

from ontology.graph import CatalogueGraph, Statement

from .case_api import Answer, CaseApi
from .engine import iri
from .store_catalogue import StoreCatalogue, owned
from .store_downloads import regroup


COMPETENCIES_KEPT = 128
"""Competencies whose alignments are kept ready per worker: a competency's page and its levels' pages, in
both languages, are a dozen renders that need the same competency (measured at 7 ms for its query and
4 ms for its small CASE API on Oxigraph server, against 0.1 ms once kept)."""
_UNKNOWN = object()


def _statements(triples: list) -> list[Statement]:
    return [Statement(t.subject, t.predicate, t.object) for t in triples]


class StoreCase:
    """What ``service.case`` asks of ``site.case``, answered from the engine (module docstring)."""

    def __init__(self, catalogue: StoreCatalogue):
        self.catalogue = catalogue
        self.base = catalogue.base
        self._api: CaseApi | None = None
        self._shared: list[Statement] | None = None
        self._competencies: OrderedDict[str, CaseApi | None] = OrderedDict()
        """The small CASE API of each competency recently aligned (least recently used out first)."""
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
        with self._lock:
            api = self._competencies.get(competency, _UNKNOWN)
            if api is not _UNKNOWN:
                self._competencies.move_to_end(competency)
        if api is _UNKNOWN:
            part = _statements(self.catalogue.engine.construct(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {owned(subject, '?s', '?s ?p ?o')} }}"))
            api = CaseApi(CatalogueGraph(iris=self.catalogue.iris, shared=self.shared(), parts=[part], mappings=[])) \
                if part else None
            with self._lock:
                self._competencies[competency] = api
                while len(self._competencies) > COMPETENCIES_KEPT:
                    self._competencies.popitem(last=False)
        return api.alignment(node, language) if api is not None else None
