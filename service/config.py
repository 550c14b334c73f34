"""Service settings: defaults that work out of the box, each overridable by option or environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ckg.settings import default_base, default_catalog


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass
class ServiceConfig:
    """Everything the app needs to know; ``from_env`` reads the CKG_* variables documented in the README."""

    catalog_dir: str = field(default_factory=default_catalog)
    base: str | None = field(default_factory=default_base)
    query_timeout: float = 10.0
    """Seconds a SPARQL query may run before it is stopped and the client gets 503."""
    max_results: int = 10_000
    """Rows (SELECT) or triples (CONSTRUCT/DESCRIBE) one SPARQL answer may hold; more is refused, never cut."""
    page_size: int = 100
    """Items per page of a listing."""
    render_cache_size: int = 20_000
    """Rendered resource answers kept in memory (per worker); each is one resource in one format and language."""
    downloads_dir: str | None = None
    """Folder for the release files served at /downloads/ (default: a fresh temporary folder per process)."""
    host: str = "127.0.0.1"
    """Interface ``ckg serve`` listens on (only this machine by default)."""
    port: int = 8000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    """Web worker processes under gunicorn (each with its own SPARQL query processes)."""
    threads: int = 4
    """Request threads per web worker; each has one killable SPARQL query process."""
    query_memory: int = 1024
    """Megabytes one SPARQL query may allocate beyond the shared store (0: no limit); past it: 503."""
    answer_cache_mib: int = 64
    """Megabytes of finished SPARQL answers kept per worker, so repeated queries are served from memory."""
    esco: str | None = None
    """An ESCO import (``ckg esco import … --out FILE``) to serve as the named graph of ESCO."""

    @classmethod
    def from_env(cls, **overrides) -> "ServiceConfig":
        config = cls(
            query_timeout=_env_float("CKG_QUERY_TIMEOUT", 10.0),
            max_results=_env_int("CKG_MAX_RESULTS", 10_000),
            page_size=_env_int("CKG_PAGE_SIZE", 100),
            render_cache_size=_env_int("CKG_RENDER_CACHE", 20_000),
            downloads_dir=os.environ.get("CKG_DOWNLOADS_DIR") or None,
            host=os.environ.get("CKG_HOST") or "127.0.0.1",
            port=_env_int("CKG_PORT", 8000),
            workers=_env_int("CKG_WORKERS", os.cpu_count() or 1),
            threads=_env_int("CKG_THREADS", 4),
            query_memory=_env_int("CKG_QUERY_MEMORY", 1024),
            answer_cache_mib=_env_int("CKG_SPARQL_CACHE_MIB", 64),
            esco=os.environ.get("CKG_ESCO") or None,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(config, key, value)
        return config
