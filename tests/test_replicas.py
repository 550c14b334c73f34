"""Replicas are interchangeable: two separately started ``ckg serve`` processes give every client the
same bytes and the same ETag for every answer, so a load balancer may send each request (and each
``If-None-Match`` revalidation) to either of them.

The requests cover every IRI of the bundled catalogue in every format (default negotiation, each suffix
twin, the HTML page in each page language), the listings and their pages, the dataset, the releases,
the downloads, the mappings table, the change feed, the CASE API and SPARQL answers in every result
format. Only headers that are about the moment (``Date``, ``Expires``, ``Last-Modified``) or about the
replica's own cache (``X-Cache``) may differ.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterator

import pytest

from tests.conftest import start_server

TWINS = ("jsonld", "ttl", "nt", "rdf", "html")
COMPARED_HEADERS = ("Content-Type", "ETag", "Vary", "Link", "Cache-Control", "Content-Disposition", "X-Total-Count")
"""Headers a client or a cache acts on: equal on every replica. Date, Expires, Last-Modified and X-Cache are not."""

SPARQL_QUERIES = {
    "select": ("SELECT ?c ?label WHERE { ?c a <http://www.w3.org/2004/02/skos/core#Concept> ; "
               "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label } ORDER BY ?c ?label",
               ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                "text/tab-separated-values")),
    "ask": ("ASK { ?s ?p ?o }", ("application/sparql-results+json", "application/sparql-results+xml")),
    "construct": ("CONSTRUCT { ?c ?p ?o } WHERE { ?c a <http://www.w3.org/2004/02/skos/core#ConceptScheme> ; ?p ?o }",
                  ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml")),
    "describe": ("DESCRIBE ?c WHERE { ?c <http://www.w3.org/2004/02/skos/core#notation> ?n } ORDER BY ?n LIMIT 3",
                 ("text/turtle", "application/n-triples")),
}


def ask(url: str, accept: str | None = None, language: str | None = None) -> tuple[int, dict[str, str | None], bytes]:
    headers = {k: v for k, v in (("Accept", accept), ("Accept-Language", language)) if v}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, found, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, found, body = error.code, error.headers, error.read()
    return status, {name: found.get(name) for name in COMPARED_HEADERS}, body


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[str, str]]:
    """Two replicas with the same catalogue, started one after the other (different load times and pids)."""
    options = ("--workers", "1", "--threads", "4")
    with start_server(*options) as first, start_server(*options) as second:
        yield first, second


def local_paths(server: str) -> list[str]:
    """The path below the base of every IRI the catalogue names (subjects and objects), from its own SPARQL."""
    base = json.loads(urllib.request.urlopen(server + "status", timeout=10).read())["base"]
    query = ("SELECT DISTINCT ?i WHERE { { ?i ?p ?o } UNION { ?s ?p ?i } "
             f'FILTER(isIRI(?i) && STRSTARTS(STR(?i), "{base}")) }}')
    url = server + "sparql?" + urllib.parse.urlencode({"query": query})
    rows = json.loads(urllib.request.urlopen(urllib.request.Request(
        url, headers={"Accept": "application/sparql-results+json"}), timeout=30).read())["results"]["bindings"]
    return sorted({row["i"]["value"][len(base):].split("#")[0] for row in rows})


def requests_for(server: str) -> list[tuple[str, str | None, str | None]]:
    """(path and query, Accept, Accept-Language) of every answer compared."""
    wanted: list[tuple[str, str | None, str | None]] = []
    paths = set(local_paths(server)) | {"", "competency/", "level/", "cluster/", "release/", "mappings", "context.jsonld",
                                       "feed", "feed/", "downloads/", "ims/case/v1p1/CFDocuments", "static/site.css"}
    for path in sorted(paths):
        if path.endswith("/") or path == "":
            wanted += [(f"{path}?format={twin}", None, None) for twin in TWINS]
            wanted += [(f"{path}?format=html", None, "en"), (f"{path}?format=jsonld&page=2", None, None)]
        else:
            wanted += [(f"{path}.{twin}", None, None) for twin in TWINS] + [(f"{path}.html", None, "en")]
        wanted += [(path, None, None), (path, "text/turtle", None), (path, "text/html", "en")]
    downloads = json.loads(urllib.request.urlopen(server + "downloads/", timeout=10).read())["files"]
    wanted += [(f"downloads/{entry['name']}", None, None) for entry in downloads]
    release = json.loads(urllib.request.urlopen(server + "status", timeout=10).read())["release"]
    wanted += [(f"release/{release}/{name}", None, None)
               for name in [entry["name"] for entry in downloads] + ["manifest.json", "changes.json"]]
    documents = json.loads(urllib.request.urlopen(server + "ims/case/v1p1/CFDocuments", timeout=10).read())
    for document in documents["CFDocuments"]:
        wanted += [(f"ims/case/v1p1/{endpoint}/{document['identifier']}", None, None)
                   for endpoint in ("CFDocuments", "CFPackages")]
    wanted += [(f"mappings{suffix}", None, None) for suffix in (".html", ".sssom.tsv", ".tsv", ".jsonld")]
    for query, formats in SPARQL_QUERIES.values():
        encoded = urllib.parse.urlencode({"query": query})
        wanted += [(f"sparql?{encoded}", media_type, None) for media_type in formats]
    return wanted


def test_two_replicas_answer_every_request_with_the_same_bytes_and_etag(replicas):
    first, second = replicas
    wanted = requests_for(first)
    assert len(wanted) > 500, "the catalogue should name many resources: the enumeration found too few"
    differences, broken, tagged, ok = [], [], 0, 0
    for path, accept, language in wanted:
        one, other = ask(first + path, accept, language), ask(second + path, accept, language)
        if one != other:
            differences.append(f"{path} (Accept {accept}, Accept-Language {language}): {one[:2]} vs {other[:2]}")
        if one[0] >= 500:
            broken.append(f"{path}: {one[0]}")
        ok += one[0] == 200
        tagged += one[1]["ETag"] is not None
    assert differences == []
    assert broken == [], "equal, but broken on both replicas"
    # The comparison is worth something only if most answers are real answers with a validator.
    assert ok > 0.8 * len(wanted) and tagged > 0.7 * len(wanted), (ok, tagged, len(wanted))


def test_an_etag_from_one_replica_revalidates_on_the_other(replicas):
    """A cache that got a page from one replica and revalidates it at the other gets 304, not the page again."""
    first, second = replicas
    for path in ("competency/klantgerichtheid.ttl", "competency/?format=html", "downloads/catalogue.nt", "mappings.jsonld",
                 "ims/case/v1p1/CFDocuments"):
        status, headers, _ = ask(first + path)
        assert status == 200 and headers["ETag"], path
        request = urllib.request.Request(second + path, headers={"If-None-Match": headers["ETag"]})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)
        assert answer.value.code == 304, path


def test_status_is_the_same_on_every_replica_but_for_the_load_time(replicas):
    """The fingerprint lets a deployment check that every replica serves the same content."""
    first, second = (json.loads(urllib.request.urlopen(url + "status", timeout=10).read()) for url in replicas)
    assert first["loaded"] != second["loaded"]  # two processes indeed, started at different moments
    for document in (first, second):
        del document["loaded"]
    assert first == second and first["fingerprint"].startswith("blake2b-128:")
