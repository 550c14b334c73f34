"""Every IRI under the base, dereferenced: the path below the base is the route.

``GET /competency/klantgerichtheid`` answers for ``{base}competency/klantgerichtheid`` in the format
chosen, in this order, by

1. a suffix twin: ``/competency/klantgerichtheid.ttl`` (``.jsonld``, ``.ttl``, ``.nt``, ``.rdf``, ``.html``);
2. ``?format=ttl`` (same names; the only way for IRIs ending in ``/``, such as ``{base}`` itself);
3. the ``Accept`` header with q-values (``service.negotiation``); ties, ``*/*`` and no header at
   all give JSON-LD, so curl and scripts get data while browsers, which name ``text/html``, get HTML.

An unacceptable ``Accept`` gets 406 with the list of what is offered. Every answer carries
``Vary: Accept, Accept-Language``, a ``Link: rel="alternate"`` per twin, a strong ``ETag`` (304 on
``If-None-Match``) and ``Access-Control-Allow-Origin: *``. Bytes are rendered once per
(resource, format, language, page, context mode) and kept in a bounded cache: the graph never
changes while it is served.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Callable

from flask import Blueprint, Response, redirect, request
from werkzeug.datastructures import Headers

from . import negotiation
from .describe import LISTINGS, Description, shapes, vocabulary
from .html import page_language, twin_url, with_lang
from .render import BY_MEDIA_TYPE, FORMATS, OFFERED, Format, Options, inline_context
from .site import Site, current_site

blueprint = Blueprint("resources", __name__)
VARY = "Accept, Accept-Language"


@blueprint.after_request
def _cors_preflight(response: Response) -> Response:
    """Answer browsers' CORS preflight (sent for If-None-Match, for instance): any origin may read."""
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@blueprint.record_once
def _build_index(state) -> None:
    """Index the graph when the app is made, not on the first request: under gunicorn's preload
    the index is then built once in the master and shared by every worker."""
    site: Site = state.app.extensions["ckg"]
    site.descriptions.members_of_class, site.descriptions.competencies_by_cluster, site.descriptions.siblings


class BadRequest(Exception):
    """A parameter the client can fix; answered with 400 and this message."""


@dataclass(frozen=True)
class Rendered:
    """An answer ready to send: computed once, then only copied into responses."""

    body: bytes
    content_type: str
    etag: str
    headers: tuple[tuple[str, str], ...]


def rendered(body: bytes, content_type: str, links: str = "", vary: bool = True) -> Rendered:
    etag = etag_of(body)
    headers = [("ETag", etag), ("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", "ETag, Link")]
    if vary:
        headers.append(("Vary", VARY))
    if links:
        headers.append(("Link", links))
    checked = Headers(headers)  # werkzeug validates each value here, once per rendered answer
    return Rendered(body, content_type, etag, tuple(checked.items()))


def _headers(checked: tuple[tuple[str, str], ...]) -> Headers:
    """A fresh, mutable Headers filled with pairs validated when the answer was rendered.

    ``Headers(pairs)`` re-validates every value on each request, which is about a third of the cost
    of answering from the cache; copying the checked list in directly skips that repeat work.
    """
    headers = Headers()
    headers._list = list(checked)  # werkzeug's storage: a list of (name, value) pairs
    return headers


class RenderCache:
    """A bounded, thread-safe LRU of rendered answers (graph immutable, so entries never go stale)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], Rendered | None]) -> Rendered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        made = make()
        if made is None:
            return None
        with self._lock:
            self._entries[key] = made
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return made

    def __len__(self) -> int:
        return len(self._entries)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def not_modified(etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (weak comparison, as RFC 9110 asks for GET)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags


_PROFILE = re.compile(r';\s*profile\s*=\s*("[^"]*"|[^;,]*)', re.IGNORECASE)


@lru_cache(maxsize=512)
def _negotiate(accept: str | None) -> str | None:
    """Accept header -> chosen media type; headers repeat, so each is parsed once.

    A JSON-LD ``profile`` parameter (expanded, compacted, flattened...) is a wish, not a
    condition (JSON-LD 1.1 §9.1): the document is served in its one compacted shape rather
    than refused, so the parameter is dropped before matching.
    """
    if accept and "profile" in accept:
        accept = _PROFILE.sub("", accept)
    return negotiation.choose(accept, OFFERED)


# ---- what a path names ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A resolved request: which document, at which path (without suffix), and its paging."""

    path: str
    describe: Callable[[], Description | None]
    key: tuple
    paged: bool = False


def _param(name: str, default: str) -> str:
    """A query parameter; requests without a query string (most of them) skip parsing altogether."""
    if not request.query_string:
        return default
    return request.args.get(name, default)


def _page_number() -> int:
    raw = _param("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest(f"page must be a whole number from 1, not {raw!r}")
    return int(raw)


def _target(site: Site, path: str) -> Target | None:
    """What ``path`` (below the base, no suffix) names, or None."""
    catalogue = site.descriptions
    if path == "":
        return Target(path, catalogue.dataset, ("dataset",))
    if path == "def":
        return Target(path, site.cached("vocabulary", vocabulary), ("def",))
    if path == "shapes":
        return Target(path, site.cached("shapes", lambda: shapes(site.base)), ("shapes",))
    segment = path[:-1]
    if path.endswith("/") and segment in LISTINGS:
        number = _page_number()
        return Target(path, lambda: catalogue.listing(segment, number), ("listing", segment, number), paged=True)
    iri = site.base + path
    if iri in catalogue.by_subject:
        return Target(path, lambda: catalogue.resource(iri), ("resource", iri))
    return None


def _split_suffix(path: str) -> tuple[str, Format | None]:
    stem, dot, suffix = path.rpartition(".")
    if dot and suffix in FORMATS and "/" not in suffix:
        return stem, FORMATS[suffix]
    return path, None


# ---- answering ------------------------------------------------------------------------------


def _format_from_request(suffix_format: Format | None) -> Format | None:
    if suffix_format is not None:
        return suffix_format
    name = _param("format", "")
    if name:
        if name in FORMATS:
            return FORMATS[name]
        if name in ("json",):
            return BY_MEDIA_TYPE["application/json"]
        raise BadRequest(f"unknown format {name!r}; use one of: {', '.join(FORMATS)}")
    chosen = _negotiate(request.headers.get("Accept"))
    return BY_MEDIA_TYPE[chosen] if chosen else None


def _context_mode() -> str:
    mode = _param("context", "iri")
    if mode not in ("iri", "inline"):
        raise BadRequest(f"context must be 'iri' (the default: the context by its IRI) or 'inline', not {mode!r}")
    return mode


def _links(path: str, description: Description) -> str:
    page = description.page
    number = page.number if page is not None else 1
    links = [f'<{twin_url(path, f.name, number)}>; rel="alternate"; type="{f.media_type}"' for f in FORMATS.values()]
    if page is not None:
        base = current_site().base
        for rel, iri in (("first", page.first), ("prev", page.previous), ("next", page.next), ("last", page.last)):
            if iri:
                links.append(f'<{"/" + iri[len(base):]}>; rel="{rel}"')
    return ", ".join(links)


def _render(site: Site, target: Target, fmt: Format, options: Options) -> Rendered | None:
    description = target.describe()
    if description is None:
        return None
    return rendered(fmt.write(description, options), fmt.content_type, _links(target.path, description))


def _answer(answer: Rendered) -> Response:
    if not_modified(answer.etag):
        return Response(status=304, headers=_headers(answer.headers))
    return Response(answer.body, status=200, headers=_headers(answer.headers), content_type=answer.content_type)


@blueprint.route("/", defaults={"path": ""})
@blueprint.route("/<path:path>")
def resource(path: str) -> Response:
    site = current_site()
    try:
        stem, suffix_format = _split_suffix(path)
        target = _target(site, stem) if suffix_format else _target(site, path)
        if target is None:
            return _missing(site, path)
        fmt = _format_from_request(suffix_format)
        if fmt is None:
            return _not_acceptable(target.path)
        context_mode = _context_mode()
        page = _page_number() if fmt.name == "html" else 1
    except BadRequest as error:
        return Response(f"400 Bad Request: {error}\n", status=400, content_type="text/plain; charset=utf-8",
                        headers={"Vary": VARY})
    lang = page_language(site) if fmt.name == "html" else ""
    key = (*target.key, fmt.media_type, lang, page, context_mode)

    def make() -> Rendered | None:
        options = Options(
            context_ref=inline_context() if context_mode == "inline" else site.context_iri,
            lang=lang or "nl", html=site.pages.render, extra=(("path", target.path), ("page", page)),
        )
        return _render(site, target, fmt, options)

    answer = site.render_cache.get(key, make)
    if answer is None:
        return _missing(site, path)
    return _answer(answer)


def _not_acceptable(path: str) -> Response:
    lines = [f"406 Not Acceptable: this resource is offered as {', '.join(OFFERED)}.",
             "Ask for one of them in Accept, or follow a twin link:"]
    lines += [f"  {twin_url(path, f.name)}  ({f.media_type})" for f in FORMATS.values()]
    return Response("\n".join(lines) + "\n", status=406, content_type="text/plain; charset=utf-8",
                    headers={"Vary": VARY, "Link": _links(path, Description("", "none", []))})


def _missing(site: Site, path: str) -> Response:
    """404 that says what was looked for and what exists nearby, in the format the client reads."""
    iri = site.base + path
    segment = path.split("/", 1)[0]
    if segment in LISTINGS and path == segment:
        return redirect(f"/{segment}/", code=301)
    close = site.descriptions.near(path)
    chosen = _negotiate(request.headers.get("Accept")) or "text/plain"
    listings = [f"/{name}/" for name in LISTINGS]
    if chosen == "text/html":
        body = site.pages.missing(iri, ["/" + c for c in close], listings, page_language(site))
        content_type = "text/html; charset=utf-8"
    elif chosen in ("application/ld+json", "application/json"):
        import json
        body = json.dumps({"error": "not found", "iri": iri, "status": 404,
                           "message": f"No resource {iri} in this catalogue.",
                           "didYouMean": ["/" + c for c in close], "listings": listings},
                          ensure_ascii=False, indent=2) + "\n"
        content_type = "application/json"
    else:
        body = (f"404 Not Found: no resource {iri} in this catalogue.\n"
                + "".join(f"Did you mean /{c} ?\n" for c in close)
                + "Browse: " + ", ".join(listings) + " or the dataset at /\n")
        content_type = "text/plain; charset=utf-8"
    return Response(body, status=404, content_type=content_type, headers={"Vary": VARY})


CONTEXT_FILE = files("ontology") / "context.jsonld"


@blueprint.route("/context.jsonld")
def context_document() -> Response:
    """The published JSON-LD context, at the IRI documents name it by; CORS open for jsonld.js & co."""
    site = current_site()
    return _answer(site.render_cache.get(
        ("context",), lambda: rendered(CONTEXT_FILE.read_bytes(), "application/ld+json", vary=False)))


@blueprint.route("/query")
def query_page() -> Response:
    """A SPARQL editor for people: example queries, results fetched from /sparql as JSON."""
    site = current_site()
    lang = page_language(site)
    return _answer(site.render_cache.get(
        ("query", lang), lambda: rendered(site.pages.query(lang).encode("utf-8"), "text/html; charset=utf-8")))


@blueprint.app_template_filter("l")
def _with_lang(href: str, lang: str) -> str:
    return with_lang(href, lang)
