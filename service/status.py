"""``{base}status``: what a load balancer or a monitor needs to know, answered from memory.

The document is made once per loaded catalogue (in gunicorn's master, before the workers fork, so
they share it) and only the last reload's result can change it; a request does no work but write
the bytes. Its ``fingerprint`` is the digest of the graph's canonical N-Triples, so replicas
serving the same content give the same fingerprint whatever their load time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import Blueprint, Flask, Response, current_app

from .release_folder import fingerprint
from .site import Site

blueprint = Blueprint("status", __name__)

EXTENSION = "ckg-status"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class ReloadResult:
    """The outcome of the last reload attempt; ``none`` until one is made."""

    result: str = "none"
    at: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"result": self.result, "at": self.at, "problems": self.problems}


@dataclass
class Status:
    """The facts about one loaded catalogue plus the (shared, mutable) last reload result."""

    facts: dict
    last_reload: ReloadResult
    _body: bytes | None = None

    @classmethod
    def of(cls, site: Site, last_reload: ReloadResult | None = None, loaded: str | None = None) -> "Status":
        """Computed once: the fingerprint writes the whole graph as N-Triples into a digest."""
        if site.graph is None:  # --store: no graph here; service.store_site's /status asks the engine instead
            return cls(facts={"status": "ok", "base": site.base, "store": site.config.store, "version": None,
                              "triples": 0, "loaded": loaded or now_iso()}, last_reload=last_reload or ReloadResult())
        versions = site.archive.versions()
        facts = {
            "status": "ok",
            "base": site.base,
            "version": site.catalogue.version,
            "release": versions[0] if versions else None,
            "triples": len(site.graph),
            "loaded": loaded or now_iso(),
            "fingerprint": "blake2b-128:" + fingerprint(site.graph),
        }
        return cls(facts=facts, last_reload=last_reload or ReloadResult())

    def body(self) -> bytes:
        """The JSON bytes; rebuilt only after the last reload's result changed (see :meth:`reported`)."""
        if self._body is None:
            self._body = (json.dumps({**self.facts, "last_reload": self.last_reload.as_json()}, ensure_ascii=False,
                                     indent=2) + "\n").encode("utf-8")
        return self._body

    def reported(self, result: ReloadResult) -> None:
        self.last_reload = result
        self._body = None


def attach(app: Flask, status: Status) -> None:
    app.extensions[EXTENSION] = status


def status_of(app: Flask) -> Status:
    """The app's status document; an app made without ``ckg serve`` (tests, embedding) makes it on first use."""
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = Status.of(app.extensions["ckg"])
        attach(app, found)
    return found


@blueprint.route("/status")
def status() -> Response:
    response = Response(status_of(current_app).body(), content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
