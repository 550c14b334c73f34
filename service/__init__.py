"""The Flask service: SPARQL endpoint, dereferenceable resources, HTML pages and downloads.

``create_app`` is loaded on first use (PEP 562), so the catalogue commands, which read only the
settings table (``service.config``), do not pay for importing Flask and the app.
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app
        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
