"""``/static/``: the site's stylesheet and script, with validators that are the same on every replica.

Flask's own static view tags a file with its modification time, size and name, and sends that time as
``Last-Modified``. Two replicas installed a minute apart then give the same bytes different ETags, so a
browser revalidating through a load balancer gets the whole file again whenever it lands on the other one.
Here the files are read once, when the app is made, and each is tagged with the digest of its bytes, like
every other answer (``edge.rendered``, ``edge.answer``); no ``Last-Modified`` is sent. A path that is not one of the files
read is a 404: nothing on disk is looked up per request, so no path can reach outside the folder.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import Flask, Response, abort

from . import edge

CACHE_CONTROL = "no-cache"
"""Revalidate on each use: the files change with the installed version, under the same name."""


def read_folder(folder: Path) -> dict[str, edge.Rendered]:
    """Every file below ``folder`` by its path relative to it, with ``/`` between its parts."""
    found: dict[str, edge.Rendered] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            body = path.read_bytes()
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media_type.startswith("text/") or media_type in ("application/javascript", "application/json"):
                media_type += "; charset=utf-8"
            found[path.relative_to(folder).as_posix()] = edge.rendered(body, media_type, vary=None)
    return found


def install(app: Flask) -> None:
    """Answer ``app``'s ``/static/`` route from the files of its static folder, read now."""
    files = read_folder(Path(app.static_folder)) if app.static_folder else {}

    def static(filename: str) -> Response:
        found = files.get(filename)
        if found is None:
            abort(404)
        return edge.answer(found, CACHE_CONTROL)  # 200, or 304 when the client holds these bytes

    app.view_functions["static"] = static
