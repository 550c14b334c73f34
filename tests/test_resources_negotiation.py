"""Content negotiation of resources: Accept with q-values, suffix twins, ?format, 406, headers, 304, 404."""
from __future__ import annotations

import json

import pytest

from service import create_app
from service.config import ServiceConfig

COMPETENCY = "/competency/klantgerichtheid"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.fixture(scope="module")
def client():
    return create_app(ServiceConfig()).test_client()


@pytest.mark.parametrize("accept, expected", [
    (None, "application/ld+json"),                       # no header: data, never HTML
    ("*/*", "application/ld+json"),                      # curl
    ("text/turtle", "text/turtle"),
    ("application/n-triples", "application/n-triples"),
    ("application/rdf+xml", "application/rdf+xml"),
    ("application/ld+json", "application/ld+json"),
    ("application/json", "application/json"),
    ("text/html", "text/html"),
    (BROWSER_ACCEPT, "text/html"),                       # browsers name text/html first
    ("text/turtle;q=0.5, application/rdf+xml;q=0.9", "application/rdf+xml"),
    ("text/*;q=0.3, text/turtle", "text/turtle"),        # the most specific range sets the quality
    ("application/ld+json;q=0.1, text/turtle;q=0.2, */*;q=0", "text/turtle"),
    ("text/html;q=0, */*", "application/ld+json"),
    ('application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"', "application/ld+json"),
    ("text/turtle;charset=utf-8", "text/turtle"),
])
def test_accept_header_picks_the_format(client, accept, expected):
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get(COMPETENCY, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == expected


@pytest.mark.parametrize("suffix, expected", [
    ("jsonld", "application/ld+json"), ("ttl", "text/turtle"), ("nt", "application/n-triples"),
    ("rdf", "application/rdf+xml"), ("html", "text/html"),
])
def test_suffix_twin_and_format_parameter_override_accept(client, suffix, expected):
    twin = client.get(f"{COMPETENCY}.{suffix}", headers={"Accept": "image/png"})
    assert twin.status_code == 200 and twin.mimetype == expected
    by_parameter = client.get(f"{COMPETENCY}?format={suffix}", headers={"Accept": "image/png"})
    assert by_parameter.status_code == 200 and by_parameter.mimetype == expected
    assert twin.data == by_parameter.data


def test_dataset_twins_use_the_format_parameter(client):
    assert client.get("/?format=ttl").mimetype == "text/turtle"
    links = client.get("/").headers["Link"]
    assert '</?format=ttl>; rel="alternate"; type="text/turtle"' in links


def test_unacceptable_accept_gets_406_listing_what_is_offered(client):
    response = client.get(COMPETENCY, headers={"Accept": "image/png, application/pdf"})
    assert response.status_code == 406
    text = response.get_data(as_text=True)
    for media_type in ("application/ld+json", "text/turtle", "application/n-triples", "application/rdf+xml", "text/html"):
        assert media_type in text
    assert f"{COMPETENCY}.ttl" in text


def test_unknown_format_parameter_is_a_400_that_names_the_choices(client):
    response = client.get(f"{COMPETENCY}?format=yaml")
    assert response.status_code == 400
    assert "jsonld" in response.get_data(as_text=True) and "ttl" in response.get_data(as_text=True)


def test_vary_link_cors_and_etag_headers(client):
    response = client.get(COMPETENCY, headers={"Accept": "text/turtle"})
    assert "Accept" in response.headers["Vary"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    links = response.headers["Link"]
    for suffix, media_type in (("jsonld", "application/ld+json"), ("ttl", "text/turtle"), ("nt", "application/n-triples"),
                               ("rdf", "application/rdf+xml"), ("html", "text/html")):
        assert f'<{COMPETENCY}.{suffix}>; rel="alternate"; type="{media_type}"' in links
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    # each variant has its own ETag: a cache must never hand Turtle to a JSON-LD client
    assert client.get(COMPETENCY, headers={"Accept": "application/ld+json"}).headers["ETag"] != etag


def test_if_none_match_gives_304_without_body(client):
    first = client.get(COMPETENCY, headers={"Accept": "text/turtle"})
    again = client.get(COMPETENCY, headers={"Accept": "text/turtle", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    weak = client.get(COMPETENCY, headers={"Accept": "text/turtle", "If-None-Match": f'"x", W/{first.headers["ETag"]}'})
    assert weak.status_code == 304
    other = client.get(COMPETENCY, headers={"Accept": "application/ld+json", "If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200


def test_head_answers_like_get_without_body(client):
    get = client.get(COMPETENCY, headers={"Accept": "text/turtle"})
    head = client.head(COMPETENCY, headers={"Accept": "text/turtle"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert int(head.headers["Content-Length"]) == len(get.data)


def test_repeated_requests_return_identical_bytes(client):
    first = client.get(f"{COMPETENCY}.jsonld").data
    assert client.get(f"{COMPETENCY}.jsonld").data == first


@pytest.mark.parametrize("accept, mimetype, clue", [
    ("text/html", "text/html", "klantgerichtheid"),       # suggests the close match
    ("application/ld+json", "application/json", "didYouMean"),
    ("text/turtle", "text/plain", "Did you mean /competency/klantgerichtheid"),
])
def test_unknown_iri_is_a_helpful_404_in_a_format_the_client_reads(client, accept, mimetype, clue):
    response = client.get("/competency/klantgerichtheit", headers={"Accept": accept})
    assert response.status_code == 404
    assert response.mimetype == mimetype
    body = response.get_data(as_text=True)
    assert clue in body
    assert "https://w3id.org/competency-kg/competency/klantgerichtheit" in body


def test_unknown_suffix_twin_is_a_404(client):
    assert client.get("/competency/nothing-here.ttl").status_code == 404


def test_json_404_is_valid_json(client):
    body = json.loads(client.get("/no/such/thing", headers={"Accept": "application/json"}).data)
    assert body["status"] == 404 and "/competency/" in body["listings"]


def test_listing_without_slash_redirects(client):
    response = client.get("/competency")
    assert response.status_code == 301 and response.headers["Location"].endswith("/competency/")


def test_context_is_referenced_by_iri_by_default_and_inline_on_request(client):
    by_iri = json.loads(client.get(f"{COMPETENCY}.jsonld").data)
    assert by_iri["@context"] == "https://w3id.org/competency-kg/context.jsonld"
    inline = json.loads(client.get(f"{COMPETENCY}.jsonld?context=inline").data)
    assert isinstance(inline["@context"], dict) and inline["@context"]["levels"]["@id"] == "ckg:hasLevel"
    assert {k: v for k, v in inline.items() if k != "@context"} == {k: v for k, v in by_iri.items() if k != "@context"}
    assert client.get(f"{COMPETENCY}.jsonld?context=remote").status_code == 400


def test_context_document_is_served_with_cors(client):
    response = client.get("/context.jsonld")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "@context" in json.loads(response.data)
    assert client.get("/context.jsonld", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_vocabulary_and_shapes_dereference(client):
    vocab = client.get("/def", headers={"Accept": "text/turtle"})
    assert vocab.status_code == 200 and b"ckg:Competency a owl:Class" in vocab.data
    assert client.get("/def.jsonld").status_code == 200
    html = client.get("/def", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="Competency"' in html  # def#Competency lands on its entry
    shapes = client.get("/shapes.nt")
    assert shapes.status_code == 200 and b"http://www.w3.org/ns/shacl#" in shapes.data


def test_bad_page_parameter_is_a_400(client):
    assert client.get("/competency/?page=zero").status_code == 400
    assert client.get("/competency/?page=0").status_code == 400


def test_cors_preflight_allows_conditional_requests(client):
    response = client.options(COMPETENCY, headers={"Origin": "https://hr.example", "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "if-none-match"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
