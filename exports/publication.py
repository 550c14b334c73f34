"""The publication record in the engine: which named graph is current, and which releases are loaded.

Why a pointer: replacing a graph in place (``MOVE``) is slow and heavy on Oxigraph (2.76 M triples:
21 min and about 11 GiB, since the whole move is one in-memory transaction) and not isolated on
Virtuoso (its read-committed readers can count a mix of old and new while a MOVE commits). So the
current catalogue is never moved: each publish loads it into a fresh named graph that nobody reads,
and then *switches* by inserting two triples into a tiny pointer graph. A reader that resolves the
pointer sees the complete old graph or the complete new one, on every engine, because the graph it
resolves to was complete before its name was ever written.

The pointer graph (one per engine, shared by every catalogue published into it) is the named graph

    <https://w3id.org/competency-kg/def#publication>            (POINTER_GRAPH)

and holds, with ``ckg:`` = ``https://w3id.org/competency-kg/def#``:

    <CURRENT> ckg:currentGraph <DATA> .      # one per switch; CURRENT is ``--graph`` (default: the base)
    <DATA>    ckg:switchNumber 7 .           # xsd:integer, 1, 2, 3, … per CURRENT: the highest wins
    <DATA>    ckg:stagedFor <CURRENT> .      # written before the upload starts, for the clean-up
    <RELEASE> ckg:contentSha256 "hex" ;      # RELEASE = {base}release/<version>/, also the name of the
              ckg:triples 645 .              # named graph holding that release; written only after it
                                             # was loaded completely

To read the current catalogue, a reader asks (``current_query()``; ``current_graph()`` sends it):

    SELECT ?graph WHERE { GRAPH <…#publication> {
        <CURRENT> ckg:currentGraph ?graph . ?graph ckg:switchNumber ?n } } ORDER BY DESC(?n) LIMIT 1

and then reads ``GRAPH <?graph>``. Both triples of a switch are needed for a match, so an engine
that shows readers one triple of the insert before the other (Virtuoso's read committed) still
resolves to the previous, complete graph. No answer means nothing was published under that name.

The previous current graph is kept until the *next* publish, which drops every graph staged for
CURRENT except the newest two (and removes their pointer triples first). So a reader that resolves
the pointer once per request, or at least once between two publishes, never reads a dropped graph.
The price is room for two copies of the current catalogue in the engine. One publisher at a time:
two concurrent publishes of the same CURRENT would pick the same switch number.

A release graph is complete exactly when its ``ckg:contentSha256`` is recorded; releases are
immutable, so publishing one again compares the checksum and skips it (same content) or refuses it
(other content), never reloads it.
"""
from __future__ import annotations

import requests

from ontology.iris import VOCAB

POINTER_GRAPH = VOCAB + "publication"
CURRENT_GRAPH = VOCAB + "currentGraph"
SWITCH_NUMBER = VOCAB + "switchNumber"
STAGED_FOR = VOCAB + "stagedFor"
CONTENT_SHA256 = VOCAB + "contentSha256"
TRIPLES = VOCAB + "triples"
KEEP = 2
"""Graphs kept per CURRENT: the current one and the previous one (for readers holding a stale pointer)."""

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"



def current_query(current: str) -> str:
    """The SPARQL query a reader sends to learn which graph holds the catalogue published under ``current``."""
    return (f"SELECT ?graph WHERE {{ GRAPH <{POINTER_GRAPH}> {{ <{current}> <{CURRENT_GRAPH}> ?graph . "
            f"?graph <{SWITCH_NUMBER}> ?n }} }} ORDER BY DESC(?n) LIMIT 1")


def current_graph(query_endpoint: str, current: str, session: requests.Session | None = None,
                  timeout: float = 30.0) -> str | None:
    """The named graph that holds the catalogue published under ``current``, or None if none was.

    For readers (``ckg serve --store``): resolve again at least once between two publishes.
    Raises ``requests.RequestException`` (including ``HTTPError``) when the engine cannot answer.
    """
    client = session or requests.Session()
    response = client.post(query_endpoint, data={"query": current_query(current)},
                           headers={"Accept": "application/sparql-results+json"}, timeout=timeout)
    response.raise_for_status()
    rows = response.json()["results"]["bindings"]
    return rows[0]["graph"]["value"] if rows else None


def names_query(also: str = "") -> str:
    """Every name published under (``--graph`` of ``ckg publish``) that has been switched to at least once.

    ``also``: a further pattern on ``?current`` and its ``?graph`` (e.g. what the graph must hold).
    """
    return (f"SELECT DISTINCT ?current WHERE {{ GRAPH <{POINTER_GRAPH}> {{ ?current <{CURRENT_GRAPH}> ?graph . "
            f"?graph <{SWITCH_NUMBER}> ?n }} {also} }}")


def switch_update(current: str, data: str, number: int) -> str:
    """The one tiny update that makes ``data`` the current graph: both pointer triples at once."""
    return (f"INSERT DATA {{ GRAPH <{POINTER_GRAPH}> {{ <{current}> <{CURRENT_GRAPH}> <{data}> . "
            f"<{data}> <{SWITCH_NUMBER}> \"{number}\"^^<{XSD_INTEGER}> }} }}")


def staged_update(current: str, data: str) -> str:
    """Recorded before the upload, so a publish that dies half-way leaves a graph the next one can find."""
    return f"INSERT DATA {{ GRAPH <{POINTER_GRAPH}> {{ <{data}> <{STAGED_FOR}> <{current}> }} }}"


def staged_query(current: str) -> str:
    """Every graph ever staged for ``current`` that is still there, with its switch number if it was switched to."""
    return (f"SELECT ?graph ?n WHERE {{ GRAPH <{POINTER_GRAPH}> {{ ?graph <{STAGED_FOR}> <{current}> "
            f"OPTIONAL {{ ?graph <{SWITCH_NUMBER}> ?n }} }} }}")


def forget_update(current: str, data: str) -> str:
    """Remove ``data`` from the pointer graph (before dropping it, so no reader resolves to it again)."""
    return (f"DELETE {{ GRAPH <{POINTER_GRAPH}> {{ <{data}> ?p ?o }} }} "
            f"WHERE {{ GRAPH <{POINTER_GRAPH}> {{ <{data}> ?p ?o }} }} ; "
            f"DELETE DATA {{ GRAPH <{POINTER_GRAPH}> {{ <{current}> <{CURRENT_GRAPH}> <{data}> }} }}")


def release_record_update(release: str, sha256: str, triples: int) -> str:
    return (f"INSERT DATA {{ GRAPH <{POINTER_GRAPH}> {{ <{release}> <{CONTENT_SHA256}> \"{sha256}\" ; "
            f"<{TRIPLES}> \"{triples}\"^^<{XSD_INTEGER}> }} }}")


def release_records_query(releases: list[str]) -> str:
    """The recorded checksums of the given release graphs (those not yet loaded have none)."""
    values = " ".join(f"<{iri}>" for iri in releases)
    return (f"SELECT ?release ?sha256 WHERE {{ VALUES ?release {{ {values} }} "
            f"GRAPH <{POINTER_GRAPH}> {{ ?release <{CONTENT_SHA256}> ?sha256 }} }}")
