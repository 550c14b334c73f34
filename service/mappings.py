"""``{base}mappings``: every mapping to another framework, as an HTML table and as SSSOM/TSV and JSON-LD.

Researchers read the table; their tools take the SSSOM/TSV twin (the same file as the release's
``catalogue.sssom.tsv``); Linked Data clients take the JSON-LD of the mapping records. All three
come from the built graph, rendered once per site and language into the site's render cache.
"""
from __future__ import annotations

import io

from flask import Blueprint, Response, render_template

from exports import jsonld, sssom
from linking.frameworks import attribution_for
from ontology.namespaces import OWL, RDF, SSSOM

from .edge import VARY, Offer, Rendered, answer, rendered
from .html import UI, page_language
from .site import Site, current_site

blueprint = Blueprint("mappings", __name__)
OFFERED = {"html": "text/html", "tsv": "text/tab-separated-values", "jsonld": "application/ld+json"}
OFFER = Offer("/mappings", OFFERED, tuple(OFFERED.values()))
SUFFIXES = {".html": "html", ".sssom.tsv": "tsv", ".tsv": "tsv", ".jsonld": "jsonld"}
LINKS = ", ".join(f'</mappings.{"sssom.tsv" if k == "tsv" else k}>; rel="alternate"; type="{t}"' for k, t in OFFERED.items())
_RECORD_TYPES = {OWL + "Axiom", SSSOM + "MappingSet"}


def _tsv(site: Site) -> bytes:
    out = io.StringIO()
    sssom.write_tsv(site.graph, out)
    return out.getvalue().encode("utf-8")


def _jsonld(site: Site) -> bytes:
    mappings = site.graph.mappings  # every set and record is there; the labels of linked concepts too
    records = {s.subject for s in mappings if s.predicate.value == RDF + "type" and s.object.value in _RECORD_TYPES}
    statements = [s for s in mappings if s.subject in records]
    return jsonld.dumps(jsonld.document(statements, context_ref=site.context_iri))


def _html(site: Site, lang: str) -> bytes:
    pages = site.pages
    found = sssom.published_set(site.graph)
    rows = [{**record, "subject": pages.link(record["subject_id"], lang),
             "author": ", ".join(record.get("author_label") or record.get("author_id") or ())} for record in found.records]
    common = pages.common("mappings", lang, UI[lang]["mappings"])
    common["twins"] = [("SSSOM/TSV", OFFERED["tsv"], "/mappings.sssom.tsv"), ("JSON-LD", OFFERED["jsonld"], "/mappings.jsonld")]
    return render_template("mappings.html", **common, rows=rows, set_id=found.id, license=found.slots.get("license"),
                           attribution=attribution_for(r["object_id"] for r in found.records)).encode("utf-8")


def _render(site: Site, kind: str, lang: str) -> Rendered:
    body = _html(site, lang) if kind == "html" else _tsv(site) if kind == "tsv" else _jsonld(site)
    media_type = OFFERED[kind]
    content_type = f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type
    return rendered(body, content_type, links=LINKS, vary=VARY)


def _answer(kind: str) -> Response:
    site = current_site()
    lang = page_language() if kind == "html" else ""
    return answer(site.render_cache.get(("mappings", kind, lang), lambda: _render(site, kind, lang)))


@blueprint.route("/mappings", methods=["GET", "HEAD"])
def listing() -> Response:
    """Negotiated by ``?format=`` (html, tsv, jsonld) or Accept; 406 names what is offered."""
    chosen = OFFER.choose()
    return _answer(next(k for k, t in OFFERED.items() if t == chosen))


@blueprint.route("/mappings<any('.html', '.sssom.tsv', '.tsv', '.jsonld'):suffix>", methods=["GET", "HEAD"])
def twin(suffix: str) -> Response:
    return _answer(SUFFIXES[suffix])
