"""Defaults every catalogue command shares, read through the service's settings table (one declaration)."""
from __future__ import annotations

from service.config import SETTINGS

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def default_catalog() -> str:
    """The catalogue to use when none is named: $CKG_CATALOG, else the bundled one."""
    return _BY_NAME["catalog_dir"].from_env()


def default_base() -> str | None:
    """$CKG_BASE overrides the base IRI the catalogue declares."""
    return _BY_NAME["base"].from_env()
