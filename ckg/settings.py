"""Defaults shared by the command line and the service, each overridable from the environment."""
from __future__ import annotations

import os
from pathlib import Path

from catalog import CATALOG_DIR


def default_catalog() -> str:
    """The catalogue to use when none is named: $CKG_CATALOG, else the bundled one (shown relative when possible)."""
    chosen = os.environ.get("CKG_CATALOG")
    if chosen:
        return chosen
    try:
        return os.path.relpath(CATALOG_DIR) if Path.cwd() in CATALOG_DIR.parents else str(CATALOG_DIR)
    except ValueError:
        return str(CATALOG_DIR)


def default_base() -> str | None:
    """$CKG_BASE overrides the base IRI the catalogue declares."""
    return os.environ.get("CKG_BASE") or None
