"""``ckg serve --store URL``: the site's state and app when the catalogue lives in a SPARQL engine.

No catalogue folder and no YAML are read: the base IRI (unless ``--base``) and the graph (unless
``--store-graph``) are discovered from the engine at start-up, and every answer is read from the engine
when first asked for (``service.store_catalogue``). The resources blueprint, its negotiation, ETags and
render cache are the embedded ones; only the source of the descriptions and page data differs.

The releases ``ckg publish`` loaded (each in its version graph) are served from the engine too
(``service.store_releases``): release pages and files, resources as they were, each page's history, the
410 Gone of removed resources and the feed; so are the CASE API and the alignments (``service.store_case``).
What needs the whole graph or every release (the release files of ``/downloads/``, the CASE packages, the
change sets, a release's files) is written once for every worker by a child process, into the folders of
this site's :class:`~service.site_files.SiteFiles`, made here in gunicorn's master. The engine being down
or slow, or those files still being written, gives 502/503/504 with a plain body, never a 500.
"""
from __future__ import annotations

import json

from flask import Blueprint, Flask, Response

from . import case, downloads, edge, feed, resources, static_files, store_mappings
from .caches import AnswerCache, RenderCache
from .config import ServiceConfig
from .describe import shapes, vocabulary
from .edge import error_text
from .engine import Engine, EngineError, Reading, shown
from .html import Pages
from .render import Options
from .describe import Description
from .site import Site, current_site
from .site_files import SiteFiles
from .sparql.blueprint import blueprint as sparql_blueprint
from .store_catalogue import StoreCatalogue, discover, follow_publication
from .store_case import StoreCase
from .store_downloads import StoreReleaseFolder
from .store_releases import ReleaseCatalogue, StoreArchive

class StorePages(Pages):
    """Pages written from the engine: per page, the description plus what that page reads besides."""

    def __init__(self, catalogue: StoreCatalogue, archive: StoreArchive | None = None, case: StoreCase | None = None):
        super().__init__(catalogue.view([]), catalogue.iris.scheme, archive)
        self.catalogue = catalogue
        self.case = case

    def render(self, description: Description, options: Options) -> str:
        if description.kind in ("vocabulary", "shapes"):
            return super().render(description, options)
        number = int(dict(options.extra).get("page", 1))
        view = self.catalogue.page_view(description, number)
        if description.kind == "competency" and self.case is not None:
            self.case.remember(description.iri, view.owned(description.iri))  # its alignment block needs no query of its own
        return Pages(view, self.scheme, self.archive).render(description, options)


def build_site(config: ServiceConfig) -> Site:
    """Discover the graph and base, then the site with the engine behind its descriptions and pages."""
    engine = Engine(config.store, config.store_graph, timeout=config.query_timeout)
    follows = follow_publication(engine, config.store_graph or config.base)
    _, base = discover(engine, config.base)
    catalogue = ReleaseCatalogue(engine, base, config.page_size)
    files = SiteFiles(config.downloads_dir, config.store, engine.graph, base, config.query_timeout,
                      published=follows is not None)
    archive = StoreArchive(catalogue, config.page_size, files)
    engine.close()  # built in gunicorn's master: no worker may inherit (and share) this thread's socket
    downloads = StoreReleaseFolder(files)
    case = StoreCase(catalogue, files)
    return Site(config=config, catalogue=None, graph=None, store=None, descriptions=catalogue,
                pages=StorePages(catalogue, archive, case), vocabulary=vocabulary(), shapes=shapes(base),
                render_cache=RenderCache(config.render_cache_size), answers=AnswerCache(config.answer_cache_mib * 2**20),
                downloads=downloads, case=case, archive=archive,
                reading=Reading(engine.graph, follows), files=files)


blueprint = Blueprint("store", __name__)


@blueprint.route("/status")
def status() -> Response:
    """For load balancers: 200 while the engine answers, else the engine's status (502/503/504)."""
    site = current_site()
    catalogue: StoreCatalogue = site.descriptions
    facts = {"status": "ok", "base": site.base, "store": shown(site.config.store), "graph": catalogue.engine.graph,
             "follows": site.reading.follows if site.reading else None}
    code = 200
    try:
        catalogue.engine.ask("ASK {}")
    except EngineError as error:
        facts["status"], facts["problem"], code = "engine unavailable", error.message, error.status
    response = Response(json.dumps(facts, ensure_ascii=False, indent=2) + "\n", status=code,
                        content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def _engine_failed(error: EngineError) -> Response:
    """The engine did not answer: say so plainly, with the status a proxy would give (never a 500)."""
    headers = {"Retry-After": str(error.retry_after)} if error.status in (503, 504) else {}
    return Response(error_text(error.status, error.message) + "Try again shortly; if it persists, check the engine.\n",
                    status=error.status, content_type=edge.TEXT, headers=headers)


def create_store_app(config: ServiceConfig) -> Flask:
    """The app for ``--store``: embedded mode's blueprints over the engine, with its own ``/status``."""
    app = Flask(__name__)
    app.extensions["ckg"] = build_site(config)
    edge.install(app)
    static_files.install(app)
    app.register_error_handler(EngineError, _engine_failed)
    app.register_blueprint(blueprint)
    app.register_blueprint(sparql_blueprint)  # queries go to the engine (service.sparql.upstream)
    app.register_blueprint(downloads.blueprint)
    app.register_blueprint(store_mappings.blueprint)
    app.register_blueprint(case.blueprint)  # CASE 1.1 and the alignments (service.store_case)
    app.register_blueprint(feed.blueprint)  # from the change sets derived in the engine (service.store_releases)
    app.register_blueprint(resources.blueprint)  # last: its catch-all route answers every other path
    return app
