"""Listings page through large catalogues; HTML labels follow ?lang / Accept-Language with a fixed fallback."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import rdflib

from service import create_app
from service.config import ServiceConfig
from service.html import pick

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import generate  # noqa: E402

BASE = "https://w3id.org/competency-kg/"
HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """25 synthetic competencies in 4 clusters, 10 per page."""
    catalogue = generate(tmp_path_factory.mktemp("synthetic") / "catalog", 25)
    return create_app(ServiceConfig(catalog_dir=str(catalogue), page_size=10)).test_client()


def links(response) -> dict[str, str]:
    """rel -> target of the non-alternate Link entries."""
    found = {}
    for part in response.headers["Link"].split(", "):
        target, _, rel = part.partition("; rel=")
        if "alternate" not in rel:
            found[rel.strip('"')] = target.strip("<>")
    return found


def test_listing_pages_with_link_headers(client):
    first = client.get("/competency/", headers={"Accept": "application/ld+json"})
    assert links(first) == {"first": "/competency/?page=1", "next": "/competency/?page=2", "last": "/competency/?page=3"}
    middle = client.get("/competency/?page=2", headers={"Accept": "application/ld+json"})
    assert links(middle) == {"first": "/competency/?page=1", "prev": "/competency/?page=1",
                             "next": "/competency/?page=3", "last": "/competency/?page=3"}
    last = json.loads(client.get("/competency/?page=3&format=jsonld").data)
    assert last["totalItems"] == 25 and len(last["member"]) == 5
    assert "next" not in last["view"] and last["view"]["previous"] == BASE + "competency/?page=2"


def test_pages_cover_every_competency_exactly_once(client):
    seen = []
    for number in (1, 2, 3):
        document = json.loads(client.get(f"/competency/?page={number}&format=jsonld").data)
        seen += [member["id"] for member in document["member"]]
    assert len(seen) == len(set(seen)) == 25


def test_listing_page_in_turtle_carries_hydra_paging(client):
    graph = rdflib.Graph().parse(data=client.get("/competency/?page=2&format=ttl").data, format="turtle")
    view = rdflib.URIRef(BASE + "competency/?page=2")
    assert graph.value(view, HYDRA.next) == rdflib.URIRef(BASE + "competency/?page=3")
    assert graph.value(view, HYDRA.previous) == rdflib.URIRef(BASE + "competency/?page=1")
    assert len(list(graph.objects(rdflib.URIRef(BASE + "competency/"), HYDRA.member))) == 10


def test_twin_links_keep_the_page(client):
    response = client.get("/competency/?page=2", headers={"Accept": "text/turtle"})
    assert '</competency/?format=jsonld&page=2>; rel="alternate"' in response.headers["Link"]


def test_page_beyond_the_end_is_a_404(client):
    assert client.get("/competency/?page=4").status_code == 404


def test_html_listing_has_pager_and_members(client):
    html = client.get("/competency/?page=2", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'rel="next"' in html and 'rel="prev"' in html
    assert html.count('href="/competency/synthetic-') == 10


def test_cluster_page_lists_its_competencies(client):
    html = client.get("/cluster/samenwerken?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Synthetic competency 1<" in html and "Synthetic competency 5<" in html
    assert "Synthetic competency 2<" not in html  # another cluster
    cluster = json.loads(client.get("/cluster/samenwerken.jsonld").data)
    members = [node["id"] for node in cluster["@included"] if "Competency" in node.get("type", [])]
    assert len(members) == 7  # synthetic-1, 5, 9, 13, 17, 21, 25


def test_level_page_lists_competencies_at_that_level_paged(client):
    html = client.get("/level/3?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Synthetic behavioural criterion 1.3.1" in html
    assert 'rel="next"' in html


def test_level_and_cluster_listings(client):
    assert json.loads(client.get("/level/?format=jsonld").data)["totalItems"] == 5
    assert json.loads(client.get("/cluster/?format=jsonld").data)["totalItems"] == 4


# ---- languages ------------------------------------------------------------------------------

@pytest.mark.parametrize("texts, lang, expected", [
    ({"nl": "Klant", "en": "Customer"}, "en", "Customer"),
    ({"nl": "Klant", "en": "Customer"}, "de", "Klant"),   # not there: nl first
    ({"en": "Customer", "fr": "Client"}, "de", "Customer"),  # then en
    ({"fr": "Client", "de": "Kunde"}, "nl", "Kunde"),     # then the alphabetically first tag, never random
    ({}, "nl", ""),
])
def test_label_fallback_order(texts, lang, expected):
    assert pick(texts, lang) == expected


@pytest.mark.parametrize("headers, query, expected, absent", [
    ({"Accept-Language": "en-GB,en;q=0.9,nl;q=0.8"}, "", "Synthetic competency 3", "Synthetische competentie 3"),
    ({"Accept-Language": "nl;q=0.4, en;q=0.9"}, "", "Synthetic competency 3", "Synthetische competentie 3"),
    ({"Accept-Language": "en;q=0.2, nl"}, "", "Synthetische competentie 3", "Synthetic competency 3"),
    ({"Accept-Language": "fr"}, "", "Synthetische competentie 3", "Synthetic competency 3"),  # fallback nl
    ({}, "", "Synthetische competentie 3", "Synthetic competency 3"),
    ({"Accept-Language": "nl"}, "?lang=en", "Synthetic competency 3", "Synthetische competentie 3"),  # ?lang wins
])
def test_html_language_from_accept_language_and_lang(client, headers, query, expected, absent):
    html = client.get(f"/competency/synthetic-3{query}", headers={"Accept": "text/html", **headers}).get_data(as_text=True)
    assert f"<h1>{expected}</h1>" in html
    assert absent not in html


def test_rdf_keeps_every_language_whatever_is_asked(client):
    document = json.loads(client.get("/competency/synthetic-3.jsonld?lang=en", headers={"Accept-Language": "en"}).data)
    assert set(document["prefLabel"]) == {"nl", "en"}


def test_404_suggests_siblings_without_scanning_everything(client):
    body = json.loads(client.get("/competency/synthetic-2x", headers={"Accept": "application/json"}).data)
    assert body["didYouMean"] and all(path.startswith("/competency/synthetic-2") for path in body["didYouMean"])
    assert json.loads(client.get("/nowhere/at-all", headers={"Accept": "application/json"}).data)["didYouMean"] == []
