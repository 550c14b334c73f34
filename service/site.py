"""The one state object behind every request, built whole before the first one.

``Site.build`` compiles nothing itself (the catalogue comes compiled) but makes everything the
blueprints read: the Oxigraph store (with ESCO's named graph when configured), the index of
descriptions, the page writer, the fixed documents, and the bounded caches of rendered and SPARQL
answers. Built in gunicorn's master (``preload_app``), all of it is shared copy-on-write by the
workers. Nothing is added to a Site later; only the release files of ``/downloads/`` are written
on first use (by :class:`~service.release_folder.ReleaseFolder`), since writing them takes a while
and many servers are never asked for them.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from pyoxigraph import Store

from linking.esco import load_esco_into
from ontology.graph import CatalogueGraph
from ontology.model import Catalogue

from .archive import Archive
from .config import ServiceConfig
from .describe import Description, Descriptions, shapes, vocabulary
from .engine import Reading
from .caches import AnswerCache, RenderCache
from .case_api import CaseApi
from .html import Pages
from .release_folder import ReleaseFolder
from .site_files import SiteFiles


@dataclass(frozen=True)
class Site:
    """What the app serves for one compiled catalogue; a reload would build a new Site and swap it whole.

    Served from an engine (``--store``, service.store_site) there is no compiled catalogue, graph, store
    or CASE API: those are None, ``descriptions`` reads the engine, and ``reading`` says which graph.
    """

    config: ServiceConfig
    catalogue: Catalogue | None
    graph: CatalogueGraph | None
    store: Store | None
    """The catalogue in the default graph; with $CKG_ESCO set, ESCO's import in its own named graph."""
    descriptions: Descriptions
    """Subject index and self-contained descriptions of every IRI (service.describe)."""
    pages: Pages
    vocabulary: Description
    shapes: Description
    render_cache: RenderCache
    """Rendered answers (bytes + ETag) per resource, format, language and page; bounded LRU."""
    answers: AnswerCache
    """Finished SPARQL answers of this worker, bounded by the bytes they hold."""
    downloads: ReleaseFolder
    case: CaseApi | None
    """The CASE 1.1 read API (service.case_api): shared documents and the item index built here; per-competency
    objects and the association index on first use (the latter takes ~24 s at 20,000 competencies, too long to
    add to every start-up; bench/case.py)."""
    archive: Archive
    """Every release of the catalogue folder (service.archive): old graphs loaded on demand."""
    reading: Reading | None = None
    """With ``--store``: the engine's graph every answer is read from (service.store_site); else None."""
    files: SiteFiles | None = None
    """With ``--store``: the folders its child processes write into (service.site_files); else None."""

    def close(self) -> None:
        """This site is no longer served (a reload replaced it, and its workers are gone): remove its private files."""
        if self.files is not None:
            self.files.close()

    @classmethod
    def build(cls, config: ServiceConfig, catalogue: Catalogue, graph: CatalogueGraph) -> "Site":
        """Everything, now: a bad ESCO file fails here, at start-up, not on the first SPARQL query."""
        store = graph.store()
        if config.esco:
            load_esco_into(store, config.esco)
        descriptions = Descriptions(graph, page_size=config.page_size)
        base = graph.iris.base
        archive = Archive(config.catalog_dir, catalogue, config.page_size)
        return cls(config=config, catalogue=catalogue, graph=graph, store=store, descriptions=descriptions,
                   pages=Pages(descriptions, graph.iris.scheme, archive), vocabulary=vocabulary(), shapes=shapes(base),
                   render_cache=RenderCache(config.render_cache_size),
                   answers=AnswerCache(config.answer_cache_mib * 2**20),
                   downloads=ReleaseFolder(graph, catalogue, config.downloads_dir),
                   case=CaseApi(graph), archive=archive)

    @property
    def base(self) -> str:
        return self.descriptions.base

    @property
    def context_iri(self) -> str:
        """Where documents say their JSON-LD context is; served by this app at /context.jsonld."""
        return f"{self.base}context.jsonld"


def current_site() -> Site:
    return current_app.extensions["ckg"]
