"""The application factory: compile the catalogue once, then serve the immutable graph."""
from __future__ import annotations

from flask import Flask

from competency_kg.compile import compile_catalogue

from .config import ServiceConfig
from .site import Site


def create_app(config: ServiceConfig | None = None) -> Flask:
    """A ready Flask app for ``config`` (default: the bundled catalogue, settings from the environment).

    The catalogue is compiled here, before any request, so a bad catalogue stops the server at
    start-up with its problem list instead of failing requests later.
    """
    config = config or ServiceConfig.from_env()
    compiled = compile_catalogue(config.catalog_dir, base=config.base)
    app = Flask(__name__)
    app.config["CKG"] = config
    app.extensions["ckg"] = Site(config=config, catalogue=compiled.catalogue, graph=compiled.graph)
    from . import downloads, mappings, resources  # resources last: its catch-all route answers every other path
    from . import sparql
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(downloads.blueprint)
    app.register_blueprint(mappings.blueprint)
    app.register_blueprint(resources.blueprint)
    return app
