"""Resources through the real server (gunicorn, 2 workers): what a client on the network sees."""
from __future__ import annotations

import json

import pytest
import rdflib

requests = pytest.importorskip("requests")

COMPETENCY = "competency/klantgerichtheid"


def test_every_format_through_gunicorn(live_server):
    for accept, expected in (("application/ld+json", "application/ld+json"), ("text/turtle", "text/turtle"),
                             ("application/n-triples", "application/n-triples"),
                             ("application/rdf+xml", "application/rdf+xml"), ("text/html", "text/html"),
                             ("*/*", "application/ld+json")):
        response = requests.get(live_server + COMPETENCY, headers={"Accept": accept}, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].split(";")[0] == expected
        assert "Accept" in response.headers["Vary"]


def test_workers_agree_on_bytes_and_etag(live_server):
    """Both workers render the same bytes, so a cached ETag is valid whichever worker answers."""
    seen = {requests.get(live_server + COMPETENCY + ".ttl", timeout=10).headers["ETag"] for _ in range(12)}
    assert len(seen) == 1
    etag = seen.pop()
    for _ in range(6):
        assert requests.get(live_server + COMPETENCY + ".ttl", headers={"If-None-Match": etag}, timeout=10).status_code == 304


def test_406_and_404_over_http(live_server):
    assert requests.get(live_server + COMPETENCY, headers={"Accept": "image/png"}, timeout=10).status_code == 406
    missing = requests.get(live_server + "competency/unknown", headers={"Accept": "text/turtle"}, timeout=10)
    assert missing.status_code == 404 and "no resource" in missing.text


def test_local_iris_resolve_with_the_base_mapped_to_the_server(live_server):
    """Following the JSON-LD's own IRIs (base replaced by the server) reaches each linked resource."""
    document = requests.get(live_server + COMPETENCY, headers={"Accept": "application/ld+json"}, timeout=10).json()
    base = "https://w3id.org/competency-kg/"
    targets = [document["broader"], document["inScheme"], document["levels"][0]["level"],
               document["levels"][0]["criteria"][0]["id"], document["@context"]]
    for iri in targets:
        response = requests.get(live_server + iri[len(base):], headers={"Accept": "text/turtle"}, timeout=10)
        assert response.status_code == 200, iri


def test_download_through_gunicorn_parses(live_server):
    response = requests.get(live_server + "downloads/catalogue.nt", timeout=60)
    assert response.status_code == 200
    graph = rdflib.Graph().parse(data=response.content, format="nt")
    manifest = requests.get(live_server + "downloads/manifest.json", timeout=10).json()
    assert len(graph) == manifest["triples"]


def test_dataset_page_points_to_sparql_and_downloads(live_server):
    document = json.loads(requests.get(live_server, headers={"Accept": "application/ld+json"}, timeout=10).content)
    assert document["sparqlEndpoint"].endswith("/sparql")
    assert any(url.endswith("downloads/catalogue.ttl") for url in document["dataDump"])
