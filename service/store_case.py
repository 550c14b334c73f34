"""The CASE 1.1 API and the Open Badges alignments of a site served from an engine (``ckg serve --store``).

``service.case`` answers from a :class:`~service.case_api.CaseApi`, which is built from a compiled graph.
Here there is none, so:

- the CASE endpoints and packages are answered from the two CASE packages of the current graph and their
  index (``service.case_files``), written once for every worker by a child process (``service.site_files``);
  a worker keeps only the documents and definitions;
- the alignment block of every competency page, and ``{IRI}/alignment``, must not cost a full read: each is
  made with one CASE API of the catalogue's shared nodes (read once: dataset, scheme, clusters, generic
  levels) from the one competency it is about: what that competency's page already read, else one query,
  kept for the next pages of that competency. An alignment reads nothing else of the framework: its
  item, its type, its criteria and the framework's title.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from ontology.graph import CatalogueGraph, Statement
from ontology.namespaces import CKG, RDF, SKOS

from .caches import Lru
from .case_api import Answer, CaseApi
from .case_files import INDEX, FileCaseApi
from .engine import iri
from .site_files import SiteFiles
from .store_catalogue import StoreCatalogue


COMPETENCIES_KEPT = 128
"""Competencies whose statements (and CASE objects per language) are kept per worker for their alignments:
a competency's page and its levels' pages, in both languages, are a dozen renders that need the same
competency (its query costs Oxigraph server ~2 ms at 2,000 competencies, its objects ~1 ms)."""
_TYPE = RDF + "type"


def _statements(triples: list) -> list[Statement]:
    return [Statement(t.subject, t.predicate, t.object) for t in triples]


class StoreCase:
    """What ``service.case`` asks of ``site.case``, answered from the engine (module docstring)."""

    def __init__(self, catalogue: StoreCatalogue, files: SiteFiles):
        self.catalogue = catalogue
        self.files = files
        self.base = catalogue.base
        self._shared_api: CaseApi | None = None
        self._parts: Lru[str, list[Statement]] = Lru(COMPETENCIES_KEPT)
        """The statements of each competency recently aligned (empty: the IRI is no competency)."""
        self._made: Lru[tuple[str, str], dict[str, Any]] = Lru(2 * COMPETENCIES_KEPT)
        self._lock = threading.Lock()

    # ---- the API: from the release's packages, once they are written ----

    def api(self) -> FileCaseApi:
        # 503 while the child writes (service.background_write)
        return self.files.case().loaded(lambda folder: FileCaseApi(folder, folder / INDEX))

    def answer(self, endpoint: str, identifier: str | None, args: Mapping[str, Sequence[str]]) -> Answer:
        return self.api().answer(endpoint, identifier, args)

    def package_file(self, identifier: str) -> Path | None:
        return self.api().package_file(identifier)

    # ---- alignments: the shared nodes and one competency ----

    def shared_api(self) -> CaseApi:
        """A CASE API of the shared nodes alone (no competency), made once: what every alignment reads
        besides its own competency (the framework's title, the item types, the clusters and levels)."""
        with self._lock:
            if self._shared_api is None:
                self._shared_api = CaseApi(CatalogueGraph(iris=self.catalogue.iris, shared=self.shared(), parts=[], mappings=[]))
            return self._shared_api

    def shared(self) -> list[Statement]:
        """The statements of the dataset, of what it links to below the base, of the schemes, clusters and
        generic levels: the shared nodes an alignment needs, found by index lookups.

        Not "every subject below the base outside a competency": that filter scans the whole graph (1.3 s
        at 2,000 competencies) and, as offers have IRIs of their own, returned 16,000 offer statements that
        each alignment then indexed again (8 ms per competency)."""
        base, iris = self.base, self.catalogue.iris
        outside = (f'STRSTARTS(STR(?s), "{base}") && !STRSTARTS(STR(?s), "{base}competency/") '
                   f'&& !STRSTARTS(STR(?s), "{base}mappings/") && !STRSTARTS(STR(?s), "{base}release/")')
        return _statements(self.catalogue.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ VALUES ?s {{ {iri(iris.dataset)} {iri(iris.scheme)} }} ?s ?p ?o }}
              UNION {{ VALUES ?d {{ {iri(iris.dataset)} }} ?d ?q ?s . FILTER(isIRI(?s) && {outside}) ?s ?p ?o }}
              UNION {{ ?s a <{SKOS}ConceptScheme> ; ?p ?o . FILTER({outside}) }}
              UNION {{ ?s a <{CKG}Cluster> ; ?p ?o }}
              UNION {{ ?s a <{CKG}ProficiencyLevel> ; ?p ?o }}
            }}"""))

    def remember(self, competency: str, statements: list) -> None:
        """Keep ``statements``, those of ``competency`` and of what it owns, from its page's own read (a
        competency page's description holds them all), so the alignment block of that page reads nothing more."""
        part = _statements(statements)
        if _is_competency(competency, part):
            self._parts.get(competency, lambda: part)

    def alignment(self, node: str, language: str) -> dict[str, Any] | None:
        """The Open Badges alignment of a competency or competency level (``CaseApi.alignment``), else None.

        The competency's statements are read in one query and kept (least recently used out first): its
        page and its levels' pages, in both languages, are a dozen renders that need the same part."""
        competency = node.split("/level/")[0]
        slug = competency[len(self.base + "competency/"):]
        if not competency.startswith(self.base + "competency/") or not slug or "/" in slug:
            return None
        try:
            iri(competency)
        except ValueError:
            return None
        part = self._parts.get(competency, lambda: self._read_part(competency))
        if not part:
            return None
        api = self.shared_api()
        if language not in api.document_links:
            return None
        return api.alignment_in(self._objects(competency, part, language), node, language)

    def _read_part(self, competency: str) -> list[Statement]:
        """The statements of ``competency`` and what it owns (``StoreCatalogue.read_owned``: one query when the
        URI scheme guessed right); empty (kept too) when it is none."""
        part = _statements(self.catalogue.read_owned(competency))
        return part if _is_competency(competency, part) else []

    def _objects(self, competency: str, part: list[Statement], language: str) -> dict[str, Any]:
        """The CASE objects of a kept competency in ``language``, made once (1 ms; its pages ask again)."""
        made = self._made.get((competency, language), lambda: self.shared_api().part_objects(part, language))
        assert made is not None
        return made


def _is_competency(iri_: str, part: list[Statement]) -> bool:
    return any(s.subject.value == iri_ and s.predicate.value == _TYPE and s.object.value == CKG + "Competency" for s in part)
