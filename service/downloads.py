"""``/downloads/``: the release files of the served graph, listed and served from disk.

The files themselves are written on first use by :class:`~service.release_folder.ReleaseFolder`
(the site's ``downloads``); this blueprint lists them (HTML for browsers, else the manifest as
JSON) and serves each with its manifest's media type and its SHA-256 as a strong ETag.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template

from .edge import Offer, Refused, file_answer
from .html import UI, page_language
from .site import current_site

blueprint = Blueprint("downloads", __name__)
INDEX = Offer("/downloads/", {"json": "application/json", "html": "text/html"}, ("application/json", "text/html"))


@blueprint.route("/downloads/")
def index() -> Response:
    """The files with sizes and checksums: HTML for browsers, else the manifest as JSON."""
    site = current_site()
    current = site.downloads.get()
    if INDEX.choose() == "text/html":
        lang = page_language()
        common = site.pages.common("downloads/", lang, UI[lang]["downloads"])
        common["twins"] = [("JSON", "application/json", "/downloads/manifest.json")]
        body = render_template("downloads.html", **common, files=current.manifest["files"],
                               triples=current.manifest.get("triples"))
        return Response(body, content_type="text/html; charset=utf-8", headers={"Vary": "Accept, Accept-Language"})
    return Response(json.dumps(current.manifest, ensure_ascii=False, indent=2) + "\n",
                    content_type="application/json", headers={"Vary": "Accept"})


@blueprint.route("/downloads/<name>")
def download(name: str) -> Response:
    """One release file, as an attachment, with its checksum as a strong ETag (304, ranges)."""
    current = current_site().downloads.get()
    if name == "manifest.json":
        path, media_type, etag = current.folder / name, "application/json", None
    else:
        entry = current.file(name)
        if entry is None:
            names = ", ".join(f["name"] for f in current.manifest["files"])
            raise Refused(404, f"no download {name!r}; the files are: {names} (and manifest.json).")
        path, media_type, etag = current.folder / name, entry["media_type"], entry["sha256"]
    return file_answer(path, media_type, etag=etag, attachment=name if name != "manifest.json" else None, max_age=0)
