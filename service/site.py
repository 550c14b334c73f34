"""What the app serves, computed once per graph: the store, and caches of rendered answers."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from flask import current_app
from pyoxigraph import Store

from ontology.graph import CatalogueGraph
from ontology.model import Catalogue

from .config import ServiceConfig


@dataclass
class Site:
    """The immutable state behind every request; a reload builds a new Site and swaps it whole."""

    config: ServiceConfig
    catalogue: Catalogue
    graph: CatalogueGraph
    cache: dict = field(default_factory=dict)

    @cached_property
    def store(self) -> Store:
        """The catalogue in the default graph; with $CKG_ESCO set, ESCO's import in its own named graph."""
        store = self.graph.store()
        if self.config.esco:
            from linking.esco import load_esco_into
            load_esco_into(store, self.config.esco)
        return store

    @property
    def base(self) -> str:
        return self.graph.iris.base

    # ---- resources, listings and pages (service/resources.py) ----

    @cached_property
    def descriptions(self):
        """Subject index and self-contained descriptions of every IRI (service.describe)."""
        from .describe import Descriptions
        return Descriptions(self.graph, page_size=self.config.page_size)

    @cached_property
    def render_cache(self):
        """Rendered answers (bytes + ETag) per resource, format, language and page; bounded LRU."""
        from .resources import RenderCache
        return RenderCache(self.config.render_cache_size)

    @cached_property
    def pages(self):
        """The HTML page writer (service.html)."""
        from .html import Pages
        return Pages(self)

    @property
    def context_iri(self) -> str:
        """Where documents say their JSON-LD context is; served by this app at /context.jsonld."""
        return f"{self.base}context.jsonld"

    def cached(self, name: str, factory):
        """``factory`` wrapped so it runs once per site (for documents read from files)."""
        def get():
            if name not in self.cache:
                self.cache[name] = factory()
            return self.cache[name]
        return get


def current_site() -> Site:
    return current_app.extensions["ckg"]
