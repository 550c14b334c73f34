"""The result formats the SPARQL endpoint writes, and how a request picks one.

One registry for both kinds of answers: solution sequences and booleans (SELECT, ASK) and graphs
(CONSTRUCT, DESCRIBE). Each format has its canonical media type (what ``Content-Type`` says),
aliases clients are known to send in ``Accept`` (SPARQLWrapper asks for ``application/json`` and
``application/turtle``, older tools for ``text/xml`` or ``text/plain``), and short names for the
``format`` parameter (SPARQLWrapper sends ``format=json``, ``format=xml``, …). The first format of
each list is the default when the client expresses no preference.

Each format also knows an *upper bound* of the number of rows (or triples) in a piece of its
output, cheap enough to compute on the fly while the result is being written: the endpoint uses it
to stop an over-large answer early, and counts exactly only when the bound says it might be too big.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pyoxigraph import QueryResultsFormat, RdfFormat

from ..negotiation import ranked


@dataclass(frozen=True)
class ResultFormat:
    """One way to write an answer: media type, its aliases and ``format`` names, and its size bound."""

    media_type: str
    oxigraph: QueryResultsFormat | RdfFormat
    names: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    bound: Callable[[bytes], int] = lambda chunk: 0
    """Given a chunk of output, a number >= the rows or triples that chunk completes or starts."""
    header_items: int = 0
    """How many of the counted items are not results (e.g. the header line of CSV/TSV)."""

    @property
    def content_type(self) -> str:
        textual = self.media_type.startswith("text/") or self.media_type.endswith(("+json", "+xml", "json"))
        return f"{self.media_type}; charset=utf-8" if textual else self.media_type


def _lines(chunk: bytes) -> int:
    return chunk.count(b"\n")


# Why each bound holds for what Oxigraph writes (values are escaped, so the counted marks can
# only be added to, never removed, by the data):
# - JSON results: every row after the first is preceded by ",{" (bindings are objects in an array);
# - XML results: every row is one <result> element (text cannot contain a raw "<");
# - CSV/TSV: every row ends with a newline, after one header line;
# - N-Triples/N-Quads: one statement per line;
# - Turtle/TriG: every triple ends with " .", " ;" or " ," (the writer puts a space before them);
# - JSON-LD: every object of a triple is a JSON object "{...}";
# - RDF/XML: every triple is a property element, which opens with "<".
SOLUTION_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("application/sparql-results+json", QueryResultsFormat.JSON, ("json", "srj"),
                 ("application/json", "text/javascript", "application/javascript"),
                 lambda chunk: chunk.count(b",{"), header_items=-1),
    ResultFormat("application/sparql-results+xml", QueryResultsFormat.XML, ("xml", "srx"),
                 ("application/xml", "text/xml"), lambda chunk: chunk.count(b"<result>")),
    ResultFormat("text/csv", QueryResultsFormat.CSV, ("csv",), (), _lines, header_items=1),
    ResultFormat("text/tab-separated-values", QueryResultsFormat.TSV, ("tsv",), ("text/tsv",), _lines, header_items=1),
)
GRAPH_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat("text/turtle", RdfFormat.TURTLE, ("turtle", "ttl", "n3"),
                 ("application/turtle", "application/x-turtle", "text/n3", "text/rdf+n3", "application/n3"),
                 lambda chunk: chunk.count(b" .") + chunk.count(b" ;") + chunk.count(b" ,")),
    ResultFormat("application/n-triples", RdfFormat.N_TRIPLES, ("nt", "ntriples", "n-triples"),
                 ("text/plain",), _lines),
    ResultFormat("application/ld+json", RdfFormat.JSON_LD, ("json-ld", "jsonld", "json"),
                 ("application/x-json+ld", "application/json"), lambda chunk: chunk.count(b"{")),
    ResultFormat("application/rdf+xml", RdfFormat.RDF_XML, ("rdf", "xml", "rdfxml", "rdf+xml", "rdf/xml"),
                 ("application/xml", "text/xml"), lambda chunk: chunk.count(b"<")),
    ResultFormat("application/n-quads", RdfFormat.N_QUADS, ("nq", "nquads", "n-quads"), (), _lines),
    ResultFormat("application/trig", RdfFormat.TRIG, ("trig",), (),
                 lambda chunk: chunk.count(b" .") + chunk.count(b" ;") + chunk.count(b" ,")),
)


class NotAcceptable(Exception):
    """No offered format satisfies the request; the message lists what is offered (HTTP 406)."""


def _offer_list(formats: tuple[ResultFormat, ...]) -> str:
    return ", ".join(f"{f.media_type} (format={f.names[0]})" for f in formats)


def choose_format(graph: bool, accept: str | None, format_param: str | None) -> ResultFormat:
    """The format to answer with: the ``format`` parameter if given, else the best match for ``Accept``.

    ``format`` may be a short name (``json``, ``ttl``…) or a media type; it is explicit, so it wins
    over ``Accept`` (SPARQLWrapper, for one, sends both).
    """
    formats = GRAPH_FORMATS if graph else SOLUTION_FORMATS
    kind = "graph (CONSTRUCT/DESCRIBE)" if graph else "SELECT/ASK"
    if format_param:
        wanted = format_param.strip().lower()
        for candidate in formats:
            if wanted in candidate.names or wanted == candidate.media_type or wanted in candidate.aliases:
                return candidate
        raise NotAcceptable(f"format={format_param!r} is not offered for {kind} results. "
                            f"Offered: {_offer_list(formats)}.")
    by_type = {}
    for candidate in formats:  # canonical types first, so they win ties over aliases
        by_type.setdefault(candidate.media_type, candidate)
    for candidate in formats:
        for alias in candidate.aliases:
            by_type.setdefault(alias, candidate)
    best = ranked(accept, list(by_type))
    if not best:
        raise NotAcceptable(f"none of the media types in Accept: {accept} is offered for {kind} results. "
                            f"Offered: {_offer_list(formats)}.")
    return by_type[best[0][0]]


def format_by_media_type(media_type: str) -> ResultFormat:
    """The registered format whose canonical media type is ``media_type`` (for the worker processes)."""
    for candidate in SOLUTION_FORMATS + GRAPH_FORMATS:
        if candidate.media_type == media_type:
            return candidate
    raise KeyError(media_type)
