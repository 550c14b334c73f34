"""``/downloads/``: the release files (Turtle, N-Triples, RDF/XML, JSON-LD, CSV) of the served graph.

The files are written by ``exports.release.write_release`` on the first request that needs them,
into ``CKG_DOWNLOADS_DIR`` or else a temporary folder of this process, and then served from disk
with their manifest's media type, size and SHA-256 (the ETag). A folder shared by several workers
is written once: a file lock serialises the writers, and a manifest whose fingerprint matches the
graph is reused instead of rewritten, so a stale release of another catalogue is never served.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, render_template, request, send_file

from exports.rdf import write_ntriples
from exports.release import write_release

from . import negotiation
from .html import UI, page_language
from .site import Site, current_site

blueprint = Blueprint("downloads", __name__)
_lock = threading.Lock()


@dataclass(frozen=True)
class Release:
    folder: Path
    manifest: dict

    def file(self, name: str) -> dict | None:
        return next((f for f in self.manifest["files"] if f["name"] == name), None)


class _DigestWriter:
    """A binary 'file' that hashes what is written to it."""

    def __init__(self) -> None:
        self.digest = hashlib.blake2b(digest_size=16)

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def fingerprint(site: Site) -> str:
    """A digest of the graph's canonical N-Triples: equal digests mean the very same graph."""
    sink = _DigestWriter()
    write_ntriples(site.graph.ordered_groups, sink)
    return sink.digest.hexdigest()


def release(site: Site) -> Release:
    """The site's release, written on first use (once per process, or once per shared folder)."""
    found = site.cache.get("release")
    if found is not None:
        return found
    with _lock:
        found = site.cache.get("release")
        if found is None:
            found = _write(site)
            site.cache["release"] = found
    return found


def _write(site: Site) -> Release:
    if site.config.downloads_dir:
        folder = Path(site.config.downloads_dir)
    else:
        folder = Path(tempfile.mkdtemp(prefix="ckg-downloads-")) / "release"
    folder.parent.mkdir(parents=True, exist_ok=True)
    print_ = fingerprint(site)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest_path = folder / "manifest.json"
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if manifest.get("metadata", {}).get("fingerprint") == print_:
                return Release(folder, manifest)
        catalogue = site.catalogue
        metadata = {"base": site.base, "version": catalogue.version, "modified": catalogue.modified,
                    "fingerprint": print_}
        write_release(site.graph, folder, metadata=metadata)
        return Release(folder, json.loads(manifest_path.read_text(encoding="utf-8")))


@blueprint.route("/downloads/")
def index() -> Response:
    """The files with sizes and checksums: HTML for browsers, else the manifest as JSON."""
    site = current_site()
    current = release(site)
    chosen = negotiation.choose(request.headers.get("Accept"), ["application/json", "text/html"])
    if request.args.get("format") in ("json", "html"):
        chosen = "text/html" if request.args["format"] == "html" else "application/json"
    if chosen is None:
        return Response("406 Not Acceptable: /downloads/ is offered as application/json and text/html.\n",
                        status=406, content_type="text/plain; charset=utf-8", headers={"Vary": "Accept"})
    if chosen == "text/html":
        lang = page_language(site)
        pages = site.pages
        common = pages.common("downloads/", lang, UI[lang]["downloads"])
        common["twins"] = [("JSON", "application/json", "/downloads/manifest.json")]
        body = render_template("downloads.html", **common, files=current.manifest["files"],
                               triples=current.manifest.get("triples"))
        return Response(body, content_type="text/html; charset=utf-8", headers={"Vary": "Accept, Accept-Language"})
    return Response(json.dumps(current.manifest, ensure_ascii=False, indent=2) + "\n",
                    content_type="application/json", headers={"Vary": "Accept"})


@blueprint.route("/downloads/<name>")
def download(name: str) -> Response:
    """One release file, as an attachment, with its checksum as a strong ETag (304, ranges)."""
    site = current_site()
    current = release(site)
    if name == "manifest.json":
        path, media_type, etag = current.folder / name, "application/json", None
    else:
        entry = current.file(name)
        if entry is None:
            names = ", ".join(f["name"] for f in current.manifest["files"])
            return Response(f"404 Not Found: no download {name!r}; the files are: {names} (and manifest.json).\n",
                            status=404, content_type="text/plain; charset=utf-8")
        path, media_type, etag = current.folder / name, entry["media_type"], entry["sha256"]
    response = send_file(path, mimetype=media_type, as_attachment=name != "manifest.json",
                         download_name=name, etag=etag if etag else True, conditional=True, max_age=0)
    if media_type.startswith("text/"):
        response.headers["Content-Type"] = f"{media_type}; charset=utf-8"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
