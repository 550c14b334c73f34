"""``{base}feed``: the changes of every release as a Linked Data Event Stream (LDES 1.0, TREE).

Members are immutable *version objects*: one per resource created, changed, deprecated or removed
in a release, at ``{base}release/<version>/<path>`` (the resource as it was in that release; a
removal's version object is ``…#removed``). Each carries the resource's statements of that
release, ``dct:isVersionOf`` the resource (``ldes:versionOfPath``), ``prov:generatedAtTime`` the
release's issue time (``ldes:timestampPath``) and its kind as an Activity Streams type
(``as:Create``, ``as:Update``, ``as:Delete``: the stream's ``ldes:version…Object`` values).

Pages: the root node ``{base}feed/`` links every page with a ``tree:GreaterThanOrEqualToRelation``
(and, but for the last release, a ``tree:LessThanRelation``) on the timestamp, so a client after
time T skips every page older than T. A release's pages (``{base}feed/<version>/<n>``,
``PAGE_SIZE`` members each) never change: ``Cache-Control: immutable`` and a strong ETag. The root
changes with each release and is revalidated. Everything is negotiated: JSON-LD (our context plus
the LDES/TREE terms), Turtle, N-Triples, TriG, N-Quads.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from flask import Blueprint, Response
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, serialize

from ontology.namespaces import DCT, PREFIXES, PROV, RDF, XSD

from .edge import IMMUTABLE, Offer, Refused, answer, rendered
from .site import Site, current_site

blueprint = Blueprint("feed", __name__)
LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
PAGE_SIZE = 500
KINDS = {"added": "Create", "changed": "Update", "deprecated": "Update", "removed": "Delete"}
FORMATS = {"jsonld": "application/ld+json", "ttl": "text/turtle", "nt": "application/n-triples",
           "trig": "application/trig", "nq": "application/n-quads"}
OFFER = Offer("the feed", FORMATS, ("text/turtle", "application/ld+json", "application/trig", "application/n-quads",
                                    "application/n-triples"), vary="Accept")
_RDF_FORMATS = {"text/turtle": RdfFormat.TURTLE, "application/n-triples": RdfFormat.N_TRIPLES,
                "application/trig": RdfFormat.TRIG, "application/n-quads": RdfFormat.N_QUADS}
FEED_PREFIXES = {**PREFIXES, "ldes": LDES, "tree": TREE, "as": AS}
_n = NamedNode


def _a(cls: str) -> tuple[NamedNode, NamedNode]:
    return _n(RDF + "type"), _n(cls)


def timestamps(site: Site) -> dict[str, str]:
    """Each release's issue time (xsd:dateTime, UTC): midnight of its issue date, a second later for each
    earlier release the same day, so the order of releases is the order of their times."""
    found, previous = {}, None
    for version in reversed(site.archive.versions()):  # oldest first
        moment = datetime.fromisoformat(site.archive.records[version].issued + "T00:00:00+00:00")
        if previous is not None and moment <= previous:
            moment = previous + timedelta(seconds=1)
        found[version], previous = moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment
    return found


def _pages(site: Site, version: str) -> int:
    return max(1, ceil(len(site.archive.changes(version)["changes"]) / PAGE_SIZE))


def _stream(site: Site) -> list[Triple]:
    base = site.base
    stream = _n(base + "feed")
    triples = [Triple(stream, *_a(LDES + "EventStream")),
               Triple(stream, _n(LDES + "timestampPath"), _n(PROV + "generatedAtTime")),
               Triple(stream, _n(LDES + "versionOfPath"), _n(DCT + "isVersionOf")),
               Triple(stream, _n(LDES + "versionCreateObject"), _n(AS + "Create")),
               Triple(stream, _n(LDES + "versionUpdateObject"), _n(AS + "Update")),
               Triple(stream, _n(LDES + "versionDeleteObject"), _n(AS + "Delete")),
               Triple(stream, _n(TREE + "view"), _n(base + "feed/")),
               Triple(stream, _n(DCT + "isPartOf"), _n(base))]
    return triples


def _root(site: Site) -> list[Triple]:
    base = site.base
    node = _n(base + "feed/")
    triples = _stream(site) + [Triple(node, *_a(TREE + "Node"))]
    times = timestamps(site)
    order = list(times)  # oldest first
    for position, version in enumerate(order):
        later = times[order[position + 1]] if position + 1 < len(order) else None
        for number in range(1, _pages(site, version) + 1):
            page = _n(f"{base}feed/{version}/{number}")
            bounds = [("GreaterThanOrEqualToRelation", times[version])] + ([("LessThanRelation", later)] if later else [])
            for kind, value in bounds:
                relation = _n(f"{base}feed/#{kind}-{version}-{number}")
                triples += [Triple(node, _n(TREE + "relation"), relation),
                            Triple(relation, *_a(TREE + kind)),
                            Triple(relation, _n(TREE + "node"), page),
                            Triple(relation, _n(TREE + "path"), _n(PROV + "generatedAtTime")),
                            Triple(relation, _n(TREE + "value"), Literal(value, datatype=_n(XSD + "dateTime")))]
    return triples


def _page(site: Site, version: str, number: int) -> list[Triple] | None:
    changes = site.archive.changes(version)["changes"]
    if not 1 <= number <= _pages(site, version):
        return None
    base, stream = site.base, _n(site.base + "feed")
    node = _n(f"{base}feed/{version}/{number}")
    triples = _stream(site) + [Triple(node, *_a(TREE + "Node")), Triple(node, _n(LDES + "immutable"), Literal(True))]
    when = Literal(timestamps(site)[version], datatype=_n(XSD + "dateTime"))
    loaded = site.archive.descriptions(version)
    index = loaded[0] if loaded else None
    shown = changes[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
    statements = _statements(index, [c["iri"] for c in shown if KINDS[c["change"]] != "Delete"])
    for change in shown:
        iri = change["iri"]
        kind = KINDS[change["change"]]
        member = _n(f"{base}release/{version}/{iri[len(base):]}" + ("#removed" if kind == "Delete" else ""))
        triples += [Triple(stream, _n(TREE + "member"), member), Triple(member, *_a(AS + kind)),
                    Triple(member, _n(DCT + "isVersionOf"), _n(iri)),
                    Triple(member, _n(PROV + "generatedAtTime"), when)]
        if kind != "Delete":
            triples += [Triple(member, t.predicate, t.object) for t in statements.get(iri, ())]
    return triples


def _statements(index, iris: list[str]) -> dict:
    """Each IRI's statements in the release: the whole index embedded, a query for just these with --store."""
    if index is None:
        return {}
    by_subject = getattr(index, "by_subject", None)
    return by_subject if by_subject is not None else index.statements_of(iris)


def _jsonld(triples: list[Triple], site: Site) -> bytes:
    """JSON-LD with our context and the LDES/TREE/Activity Streams prefixes, flat: one node per subject."""
    nodes: dict[str, dict[str, Any]] = {}
    for t in triples:
        node = nodes.setdefault(t.subject.value, {"@id": t.subject.value})
        if t.predicate.value == RDF + "type":
            node.setdefault("@type", []).append(t.object.value)
            continue
        if isinstance(t.object, NamedNode):
            value: Any = {"@id": t.object.value}
        elif t.object.language:
            value = {"@value": t.object.value, "@language": t.object.language}
        else:
            value = {"@value": t.object.value, "@type": t.object.datatype.value}
        node.setdefault(t.predicate.value, []).append(value)
    document = {"@context": [site.context_iri, {"ldes": LDES, "tree": TREE, "as": AS}], "@graph": list(nodes.values())}
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _write(triples: list[Triple], media_type: str, site: Site) -> bytes:
    if media_type == "application/ld+json":
        return _jsonld(triples, site)
    rdf_format = _RDF_FORMATS[media_type]
    if rdf_format in (RdfFormat.TRIG, RdfFormat.N_QUADS):
        return serialize((Quad(t.subject, t.predicate, t.object) for t in triples), format=rdf_format,
                         **({"prefixes": FEED_PREFIXES} if rdf_format == RdfFormat.TRIG else {}))
    return serialize(triples, format=rdf_format, **({"prefixes": FEED_PREFIXES} if rdf_format == RdfFormat.TURTLE else {}))


def _answer(key: tuple, make, immutable: bool) -> Response:
    site = current_site()
    media_type = OFFER.choose()
    content_type = media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")

    def render():
        triples = make()
        return None if triples is None else rendered(_write(triples, media_type, site), content_type, vary="Accept")

    found = site.render_cache.get(("feed", *key, media_type), render)
    if found is None:
        raise Refused(404, f"no such feed page; start at {site.base}feed", {"Vary": "Accept"})
    response = answer(found)
    response.headers["Cache-Control"] = IMMUTABLE if immutable else "no-cache"
    return response


@blueprint.route("/feed", methods=["GET", "HEAD"])
def stream() -> Response:
    """The event stream itself, with its view: what a client is pointed at."""
    return _answer(("stream",), lambda: _root(current_site()), immutable=False)


@blueprint.route("/feed/", methods=["GET", "HEAD"])
def root() -> Response:
    return _answer(("root",), lambda: _root(current_site()), immutable=False)


@blueprint.route("/feed/<version>/<int:number>", methods=["GET", "HEAD"])
def page(version: str, number: int) -> Response:
    site = current_site()
    if version not in site.archive.records:
        raise Refused(404, f"no release {version!r}; the releases are: {', '.join(site.archive.versions())}", {"Vary": "Accept"})
    return _answer(("page", version, number), lambda: _page(site, version, number), immutable=True)
