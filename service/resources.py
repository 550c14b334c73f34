"""Every IRI under the base, dereferenced: the path below the base is the route.

``GET /competency/klantgerichtheid`` answers for ``{base}competency/klantgerichtheid`` in the format
chosen, in this order, by

1. a suffix twin: ``/competency/klantgerichtheid.ttl`` (``.jsonld``, ``.ttl``, ``.nt``, ``.rdf``, ``.html``);
2. ``?format=ttl`` (same names; the only way for IRIs ending in ``/``, such as ``{base}`` itself);
3. the ``Accept`` header with q-values (``service.negotiation``); ties, ``*/*`` and no header at
   all give JSON-LD, so curl and scripts get data while browsers, which name ``text/html``, get HTML.

An unacceptable ``Accept`` gets 406 with the list of what is offered (the choice and the refusals
are :mod:`service.edge`'s, shared by every route). Every answer carries ``Vary: Accept,
Accept-Language``, a ``Link: rel="alternate"`` per twin and a strong ``ETag`` (304 on
``If-None-Match``); CORS headers come from the app-wide hook. Bytes are rendered once per
(resource, format, language, page, context mode) and kept in a bounded cache: the graph never
changes while it is served.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from flask import Blueprint, Response, redirect

from exports.jsonld import CONTEXT_FILE

from .describe import LISTINGS, Description
from .edge import (IMMUTABLE, TEXT, VARY, Offer, Refused, Rendered, accepted, answer, error_text, param, rendered,
                   whole_number)
from .html import page_language, twin_url, with_lang
from .releases import gone_response, release_file, release_target
from .render import BY_MEDIA_TYPE, FORMATS, OFFERED, Format, Options, inline_context
from .site import Site, current_site

blueprint = Blueprint("resources", __name__)
OFFER = Offer("this resource", {**{name: f.media_type for name, f in FORMATS.items()}, "json": "application/json"},
              OFFERED, listed=tuple(FORMATS), vary=VARY,
              advice=("Ask for one of them in Accept, or follow a twin link:",))


# ---- what a path names ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A resolved request: which document, at which path (without suffix), and its paging."""

    path: str
    describe: Callable[[], Description | None]
    key: tuple
    paged: bool = False
    html: Callable | None = None
    """The page writer, when not the current graph's (an archived release's, a release page)."""


def _page_number() -> int:
    return whole_number("page", 1)


def _include_deprecated() -> bool:
    raw = param("deprecated", "exclude")
    if raw not in ("exclude", "include"):
        raise Refused(400, f"deprecated must be 'exclude' (the default) or 'include', not {raw!r}", {"Vary": VARY})
    return raw == "include"


def _target(site: Site, path: str) -> Target | None:
    """What ``path`` (below the base, no suffix) names, or None."""
    catalogue = site.descriptions
    if path == "":
        return Target(path, catalogue.dataset, ("dataset",))
    if path == "def":
        return Target(path, lambda: site.vocabulary, ("def",))
    if path == "shapes":
        return Target(path, lambda: site.shapes, ("shapes",))
    if path.startswith("release/"):
        return release_target(site, path, Target, _page_number, _include_deprecated)
    segment = path[:-1]
    if path.endswith("/") and segment in LISTINGS:
        number, everything = _page_number(), _include_deprecated()
        return Target(path, lambda: catalogue.listing(segment, number, include_deprecated=everything),
                      ("listing", segment, number, everything), paged=True)
    iri = site.base + path
    if catalogue.knows(iri):
        return Target(path, lambda: catalogue.resource(iri), ("resource", iri))
    return None


def _split_suffix(path: str) -> tuple[str, Format | None]:
    stem, dot, suffix = path.rpartition(".")
    if dot and suffix in FORMATS and "/" not in suffix:
        return stem, FORMATS[suffix]
    return path, None


# ---- answering ------------------------------------------------------------------------------


def _format(path: str, suffix_format: Format | None) -> Format:
    """The format to answer in (suffix, ``?format``, ``Accept``: the order of every route, see service.edge)."""
    def twins() -> tuple[list[str], str]:
        return ([f"  {twin_url(path, f.name)}  ({f.media_type})" for f in FORMATS.values()],
                _links(path, Description("", "none", [])))

    return BY_MEDIA_TYPE[OFFER.choose(suffix_format.name if suffix_format else None, twins=twins)]


def _context_mode() -> str:
    mode = param("context", "iri")
    if mode not in ("iri", "inline"):
        raise Refused(400, f"context must be 'iri' (the default: the context by its IRI) or 'inline', not {mode!r}",
                      {"Vary": VARY})
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


@blueprint.route("/", defaults={"path": ""})
@blueprint.route("/<path:path>")
def resource(path: str) -> Response:
    site = current_site()
    if path.startswith("release/") and path.count("/") == 2:  # release/<version>/<name>: one of its files?
        file = release_file(site, *path.split("/")[1:])
        if file is not None:
            return file
    stem, suffix_format = _split_suffix(path)
    target = _target(site, stem) if suffix_format else _target(site, path)
    if target is None:
        return _missing(site, path)
    try:
        fmt = _format(target.path, suffix_format)
    except Refused:
        if target.key[0] == "resource" and target.describe() is None:  # --store learns a resource exists by asking
            return _missing(site, path)
        raise
    context_mode = _context_mode()
    page = _page_number() if fmt.name == "html" else 1
    lang = page_language() if fmt.name == "html" else ""
    key = (*target.key, fmt.media_type, lang, page, context_mode)

    def make() -> Rendered | None:
        options = Options(
            context_ref=inline_context() if context_mode == "inline" else site.context_iri,
            lang=lang or "nl", html=target.html or site.pages.render, extra=(("path", target.path), ("page", page)),
        )
        return _render(site, target, fmt, options)

    found = site.render_cache.get(key, make)
    if found is None:
        return _missing(site, path)
    # a resource or listing as it was in a release is data that can never change; its HTML page may (it
    # shows the site around it), and so may the release's own description (the list of releases grows)
    frozen = target.key[0] == "release" and len(target.key) > 2 and fmt.name != "html"
    return answer(found, IMMUTABLE if frozen else None)


def _missing(site: Site, path: str) -> Response:
    """404 that says what was looked for and what exists nearby, in the format the client reads."""
    iri = site.base + path
    gone = site.archive.gone(iri)
    if gone is not None:  # removed in a major release: 410 with what replaces it, never a bare 404
        return gone_response(site, gone)
    segment = path.split("/", 1)[0]
    if segment in LISTINGS and path == segment:
        return redirect(f"/{segment}/", code=301)
    close = site.descriptions.near(path)
    chosen = accepted(OFFERED) or "text/plain"
    listings = [f"/{name}/" for name in LISTINGS]
    if chosen == "text/html":
        body = site.pages.missing(iri, ["/" + c for c in close], listings, page_language())
        content_type = "text/html; charset=utf-8"
    elif chosen in ("application/ld+json", "application/json"):
        body = json.dumps({"error": "not found", "iri": iri, "status": 404,
                           "message": f"No resource {iri} in this catalogue.",
                           "didYouMean": ["/" + c for c in close], "listings": listings},
                          ensure_ascii=False, indent=2) + "\n"
        content_type = "application/json"
    else:
        body = (error_text(404, f"no resource {iri} in this catalogue.")
                + "".join(f"Did you mean /{c} ?\n" for c in close)
                + "Browse: " + ", ".join(listings) + " or the dataset at /\n")
        content_type = TEXT
    return Response(body, status=404, content_type=content_type, headers={"Vary": VARY})


@blueprint.route("/context.jsonld")
def context_document() -> Response:
    """The published JSON-LD context, at the IRI documents name it by; CORS open for jsonld.js & co."""
    site = current_site()
    return answer(site.render_cache.get(
        ("context",), lambda: rendered(CONTEXT_FILE.read_bytes(), "application/ld+json", vary=None)))


@blueprint.route("/query")
def query_page() -> Response:
    """A SPARQL editor for people: example queries, results fetched from /sparql as JSON."""
    site = current_site()
    lang = page_language()
    return answer(site.render_cache.get(
        ("query", lang), lambda: rendered(site.pages.query(lang).encode("utf-8"), "text/html; charset=utf-8")))


@blueprint.app_template_filter("l")
def _with_lang(href: str, lang: str) -> str:
    return with_lang(href, lang)
