"""The Flask service: SPARQL endpoint, dereferenceable resources, HTML pages and downloads."""
from .app import create_app

__all__ = ["create_app"]
