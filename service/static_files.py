"""``/static/``: the site's stylesheet and script, with validators that are the same on every replica.

Flask's own static view tags a file with its modification time, size and name, and sends that time as
``Last-Modified``. Two replicas installed a minute apart then give the same bytes different ETags, so a
browser revalidating through a load balancer gets the whole file again whenever it lands on the other one.
Here the files are read once, when the app is made, and each is tagged with the digest of its bytes, like
every other answer (``edge.etag_of``); no ``Last-Modified`` is sent. A path that is not one of the files
read is a 404: nothing on disk is looked up per request, so no path can reach outside the folder.
"""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort

from . import edge

CACHE_CONTROL = "no-cache"
"""Revalidate on each use: the files change with the installed version, under the same name."""


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def read_folder(folder: Path) -> dict[str, StaticFile]:
    """Every file below ``folder`` by its path relative to it, with ``/`` between its parts."""
    found: dict[str, StaticFile] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            body = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type in ("application/javascript", "application/json"):
                media_type += "; charset=utf-8"
            found[path.relative_to(folder).as_posix()] = StaticFile(body, media_type, edge.etag_of(body))
    return found


def install(app: Flask) -> None:
    """Answer ``app``'s ``/static/`` route from the files of its static folder, read now."""
    files = read_folder(Path(app.static_folder)) if app.static_folder else {}

    def static(filename: str) -> Response:
        found = files.get(filename)
        if found is None:
            abort(404)
        headers = {"ETag": found.etag, "Cache-Control": CACHE_CONTROL}
        if edge.not_modified(found.etag):
            return Response(status=304, headers=headers)
        return Response(found.body, headers=headers, content_type=found.content_type)

    app.view_functions["static"] = static
