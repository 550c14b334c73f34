"""One registry of output formats: media type, suffix twin and the function that writes the bytes.

Every resource, listing and the dataset go through :data:`FORMATS`, so adding a format is one
entry here, and negotiation (``service.edge.Offer``) picks among :data:`OFFERED` in the
order written below. That order is the rule for ties and for ``*/*`` or no ``Accept`` at all:
machine-readable JSON-LD first (what curl and HR vendors' code get), HTML last, so HTML is
served only to clients that ask for it by name, as every browser does (``text/html`` at q=1,
``*/*`` at q=0.8).

RDF formats are written by Oxigraph (fast, sorted input gives stable bytes); JSON-LD by the
context-driven writer of ``exports.jsonld``, so resource documents have exactly the shape of the
dumps: the described node is the top object, nodes it owns are nested, and the names of the nodes
it links to ride along under ``@included``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pyoxigraph import NamedNode, RdfFormat, Triple, serialize

from exports.jsonld import NodeWriter, context, dumps
from ontology.namespaces import PREFIXES, RDF, SH

from .describe import HYDRA, Description

_TYPE = RDF + "type"
RDF_PREFIXES = {**PREFIXES, "hydra": HYDRA, "sh": SH}


@dataclass(frozen=True)
class Options:
    """What else, besides the description and the format, shapes the bytes (part of the cache key)."""

    context_ref: Any
    """The ``@context`` value: the context's IRI (default) or the context object itself (``?context=inline``)."""
    lang: str = "nl"
    """Language of an HTML page (RDF always carries every language)."""
    html: Callable[[Description, "Options"], str] | None = None
    """The page writer (service.html), passed in so this module stays free of Flask."""
    extra: tuple = ()
    """Request details an HTML page shows (e.g. the page's own twins), as (name, value) pairs."""


@dataclass(frozen=True)
class Format:
    name: str
    """The suffix twin (``.ttl``) and ``?format=`` value."""
    media_type: str
    content_type: str
    """The Content-Type header written (with charset where the type has one)."""
    write: Callable[[Description, Options], bytes]
    label: str


def _order(triple) -> tuple:
    """Subject, rdf:type first, predicate, object: groups each node's statements for Turtle's ';'."""
    predicate = triple.predicate.value
    return str(triple.subject), predicate != _TYPE, predicate, str(triple.object)


def _used_prefixes(triples: list) -> dict[str, str]:
    """Only the prefixes the document uses, so a small document starts with a short header."""
    iris = {t.predicate.value for t in triples}
    iris |= {term.value for t in triples for term in (t.subject, t.object) if isinstance(term, NamedNode)}
    return {p: ns for p, ns in RDF_PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}


def _oxigraph(rdf_format: RdfFormat) -> Callable[[Description, Options], bytes]:
    def write(description: Description, options: Options) -> bytes:
        if rdf_format == RdfFormat.TURTLE and description.turtle is not None:
            return description.turtle
        triples = sorted(description.triples, key=_order)
        prefixes = None if rdf_format == RdfFormat.N_TRIPLES else _used_prefixes(triples)
        return serialize((Triple(*t) for t in triples), format=rdf_format, prefixes=prefixes)
    return write


HYDRA_CONTEXT = {
    "hydra": HYDRA,
    "Collection": "hydra:Collection",
    "PartialCollectionView": "hydra:PartialCollectionView",
    "totalItems": "hydra:totalItems",
    "member": {"@id": "hydra:member", "@container": "@set"},
    "view": "hydra:view",
    "first": {"@id": "hydra:first", "@type": "@id"},
    "last": {"@id": "hydra:last", "@type": "@id"},
    "previous": {"@id": "hydra:previous", "@type": "@id"},
    "next": {"@id": "hydra:next", "@type": "@id"},
}
"""Terms for listings, added to the published context (which only knows the catalogue's own terms)."""


def jsonld_document(description: Description, context_ref: Any) -> dict[str, Any]:
    """The nested JSON-LD of a description: the described node on top, other nodes in ``@included``."""
    writer = NodeWriter(description.triples)
    roots = writer.roots()
    if description.kind == "listing" and description.page is not None:
        return _listing_document(description, writer, context_ref)
    if description.iri not in roots:
        return {"@context": context_ref, "@graph": [writer.node(root) for root in roots]}
    document = {"@context": context_ref, **writer.node(description.iri)}
    included = [writer.node(root) for root in roots if root != description.iri]
    if included:
        document["@included"] = included
    return document


def _listing_document(description: Description, writer: NodeWriter, context_ref: Any) -> dict[str, Any]:
    """A hydra:Collection page: members nested in listing order, paging links in ``view``."""
    page = description.page
    view = {"id": page.view or f"{description.iri}?page={page.number}", "type": ["PartialCollectionView"],
            "first": page.first, "last": page.last}
    if page.previous:
        view["previous"] = page.previous
    if page.next:
        view["next"] = page.next
    document = {
        "@context": [context_ref, HYDRA_CONTEXT],
        "id": description.iri,
        "type": ["Collection"],
        "totalItems": page.total,
        "view": view,
        "member": [writer.node(member) for member in page.members],
    }
    skip = {description.iri, view["id"], *page.members}
    included = [writer.node(root) for root in writer.roots() if root not in skip]
    if included:
        document["@included"] = included
    return document


def _jsonld(description: Description, options: Options) -> bytes:
    return dumps(jsonld_document(description, options.context_ref))


def _html(description: Description, options: Options) -> bytes:
    if options.html is None:
        raise RuntimeError("the HTML format needs a page writer in Options.html")
    return options.html(description, options).encode("utf-8")


FORMATS: dict[str, Format] = {
    f.name: f for f in (
        Format("jsonld", "application/ld+json", "application/ld+json", _jsonld, "JSON-LD"),
        Format("ttl", "text/turtle", "text/turtle; charset=utf-8", _oxigraph(RdfFormat.TURTLE), "Turtle"),
        Format("nt", "application/n-triples", "application/n-triples", _oxigraph(RdfFormat.N_TRIPLES), "N-Triples"),
        Format("rdf", "application/rdf+xml", "application/rdf+xml", _oxigraph(RdfFormat.RDF_XML), "RDF/XML"),
        Format("html", "text/html", "text/html; charset=utf-8", _html, "HTML"),
    )
}
"""Format name (suffix twin, ``?format=``) -> format. Insertion order is the server's preference."""

JSON = Format("json", "application/json", "application/json", _jsonld, "JSON")
"""Plain-JSON clients get the same JSON-LD bytes, labelled with the type they asked for."""

BY_MEDIA_TYPE: dict[str, Format] = {f.media_type: f for f in (*FORMATS.values(), JSON)}
OFFERED: tuple[str, ...] = ("application/ld+json", "application/json", "text/turtle",
                            "application/n-triples", "application/rdf+xml", "text/html")
"""What negotiation chooses among, best first for ties (``*/*``): JSON-LD, then Turtle..., HTML last."""


def inline_context() -> dict[str, Any]:
    return context()["@context"]
