"""The application factory: compile the catalogue once, build the site's state, then serve it."""
from __future__ import annotations

from flask import Flask

from competency_kg.compile import compile_catalogue

from . import case, downloads, edge, feed, mappings, resources, static_files, status
from .config import ServiceConfig
from .site import Site
from .sparql.blueprint import blueprint as sparql_blueprint


def create_app(config: ServiceConfig | None = None) -> Flask:
    """A ready Flask app for ``config`` (default: the bundled catalogue, settings from the environment).

    The catalogue is compiled and every index built here, before any request, so a bad catalogue
    (or ESCO file) stops the server at start-up with its problem list instead of failing requests
    later, and under gunicorn's preload the work is done once, in the master.
    """
    config = config or ServiceConfig.from_env()
    if config.store:  # the catalogue lives in a SPARQL engine: nothing to compile (service.store_site)
        from .store_site import create_store_app
        return create_store_app(config)
    compiled = compile_catalogue(config.catalog_dir, base=config.base)
    app = Flask(__name__)
    app.extensions["ckg"] = Site.build(config, compiled.catalogue, compiled.graph)
    edge.install(app)
    static_files.install(app)
    app.register_blueprint(sparql_blueprint)
    app.register_blueprint(case.blueprint)
    app.register_blueprint(downloads.blueprint)
    app.register_blueprint(mappings.blueprint)
    app.register_blueprint(feed.blueprint)
    app.register_blueprint(status.blueprint)
    app.register_blueprint(resources.blueprint)  # last: its catch-all route answers every other path
    return app
