"""Fetch the labels and descriptions of the concepts our mappings point to, from any SPARQL 1.1 endpoint.

The result is a small Turtle file kept in the catalogue (``catalog/mappings/esco-labels.ttl`` by
default) with a header saying where and when it was fetched. The build adds its triples to the
graph, so pages and JSON-LD can show "handle customer complaints" next to a link without the
service ever going online. The file is sorted and free of blank nodes: re-running the refresh
against the same data gives the same bytes, so a diff shows exactly what ESCO changed.
"""
from __future__ import annotations

import datetime as _dt
import socket
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from ontology.namespaces import DCT, SKOS

from .esco import STATUS
from .frameworks import ESCO, attribution_for

FETCHED = (SKOS + "prefLabel", SKOS + "definition", DCT + "description", STATUS)
"""What is fetched per concept: its name, its descriptions, and its status (to spot obsolete concepts)."""
BATCH = 100
"""Concepts per query: small enough for any endpoint's query-size limit."""
PREFIXES = {"skos": SKOS, "dct": DCT, "isothes": STATUS.rsplit("#", 1)[0] + "#", "skill": ESCO + "skill/",
            "occupation": ESCO + "occupation/"}


class EnrichmentError(Exception):
    """The endpoint could not be used; the message says what happened and what to try."""


@dataclass
class Enrichment:
    """What a refresh found: triples per concept, and the concepts the endpoint does not know."""

    endpoint: str
    triples: list[Triple] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    concepts: int = 0


def _query(concepts: list[str], languages: Iterable[str]) -> str:
    values = " ".join(f"<{c}>" for c in concepts)
    predicates = " ".join(f"<{p}>" for p in FETCHED)
    langs = ", ".join(f'"{lang}"' for lang in languages)
    # Data may sit in the default graph or in named graphs (ESCO's own endpoint, our service): ask both.
    return f"""SELECT DISTINCT ?concept ?property ?value WHERE {{
  VALUES ?concept {{ {values} }}
  VALUES ?property {{ {predicates} }}
  {{ ?concept ?property ?value }} UNION {{ GRAPH ?g {{ ?concept ?property ?value }} }}
  FILTER(isLiteral(?value) && (lang(?value) = "" || lang(?value) IN ({langs})))
}}"""


def _client(endpoint: str, timeout: float) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint, agent="competency-kg link refresh (SPARQLWrapper)")
    client.setReturnFormat(JSON)
    client.setMethod(POST)
    client.setTimeout(int(max(1, round(timeout))))
    return client


def _ask(client: SPARQLWrapper, query: str, endpoint: str, timeout: float) -> list[dict]:
    client.setQuery(query)
    try:
        answer = client.queryAndConvert()
    except SPARQLWrapperException as error:
        raise EnrichmentError(f"{endpoint} refused the query: {str(error).splitlines()[0]}") from None
    except (socket.timeout, TimeoutError):
        raise EnrichmentError(f"{endpoint} did not answer within {timeout:g} s; try again later or raise --timeout") from None
    except urllib.error.HTTPError as error:
        raise EnrichmentError(f"{endpoint} answered HTTP {error.code} {error.reason}; is this a SPARQL endpoint?") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise EnrichmentError(f"{endpoint} did not answer within {timeout:g} s; try again later or raise --timeout") from None
        raise EnrichmentError(f"cannot reach {endpoint}: {reason}; check the URL and that the endpoint is up") from None
    except (ValueError, ConnectionError, OSError) as error:
        raise EnrichmentError(f"cannot use {endpoint}: {error}") from None
    if not isinstance(answer, dict) or "results" not in answer:
        raise EnrichmentError(f"{endpoint} did not answer with SPARQL JSON results; is this a SPARQL endpoint?")
    return answer["results"]["bindings"]


def _literal(binding: dict) -> Literal:
    language = binding.get("xml:lang")
    if language:
        return Literal(binding["value"], language=language)
    if binding.get("datatype"):
        return Literal(binding["value"], datatype=NamedNode(binding["datatype"]))
    return Literal(binding["value"])


def fetch(endpoint: str, concepts: Iterable[str], *, languages: Iterable[str] = ("en",), timeout: float = 30.0) -> Enrichment:
    """Labels, descriptions and status of ``concepts`` from ``endpoint``, in batches of :data:`BATCH`."""
    wanted = sorted(set(concepts))
    languages = tuple(languages)
    result = Enrichment(endpoint, concepts=len(wanted))
    client = _client(endpoint, timeout)
    found: set[str] = set()
    triples: set[Triple] = set()
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start:start + BATCH]
        for row in _ask(client, _query(batch, languages), endpoint, timeout):
            if row.get("value", {}).get("type") not in ("literal", "typed-literal"):
                continue
            concept = row["concept"]["value"]
            found.add(concept)
            triples.add(Triple(NamedNode(concept), NamedNode(row["property"]["value"]), _literal(row["value"])))
    result.triples = sorted(triples, key=lambda t: (t.subject.value, t.predicate.value, str(t.object)))
    result.unknown = [c for c in wanted if c not in found]
    return result


def write_labels(enrichment: Enrichment, out: Path, *, source_version: str | None, fetched: _dt.datetime | None = None) -> None:
    """Write the fetched triples as Turtle with a header (endpoint, date, source version, attribution)."""
    fetched = fetched or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    header = [
        "# Labels and descriptions of the concepts that catalog/mappings/*.sssom.tsv link to.",
        "# Written by 'ckg link refresh'; do not edit by hand, run the refresh again instead.",
        f"# endpoint: {enrichment.endpoint}",
        f"# fetched: {fetched.isoformat()}",
        f"# source version: {source_version or 'unknown'}",
        f"# concepts: {enrichment.concepts - len(enrichment.unknown)} of {enrichment.concepts}",
    ]
    attribution = attribution_for(t.subject.value for t in enrichment.triples)
    if attribution:
        header.append(f"# {attribution}")
    partial = out.with_name(out.name + ".partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as handle:
        handle.write(("\n".join(header) + "\n").encode("utf-8"))
        serialize(enrichment.triples, handle, RdfFormat.TURTLE, prefixes=PREFIXES)
    partial.replace(out)
