"""The HTTP edge shared by every route (service.edge): CORS everywhere, one plain error handler."""
from __future__ import annotations

import logging

import pytest

from service import create_app
from service.config import ServiceConfig

COMPETENCY = "/competency/klantgerichtheid"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(ServiceConfig(downloads_dir=str(tmp_path_factory.mktemp("downloads") / "release")))


@pytest.fixture()
def client(app):
    return app.test_client()


# One request per kind of answer: data, page, listing, 304, 404, 400, 406, 405, the context,
# mappings, downloads (index, file, missing file), SPARQL (its description, a refusal: both without forking
# query processes in the test process) and a static file.
EVERY_KIND = [
    ("GET", COMPETENCY, {}), ("GET", COMPETENCY + ".html", {}), ("GET", "/competency/", {}),
    ("GET", "/nope", {}), ("GET", COMPETENCY + "?format=bogus", {}), ("GET", COMPETENCY, {"Accept": "image/png"}),
    ("POST", COMPETENCY, {}), ("GET", "/context.jsonld", {}), ("GET", "/mappings.sssom.tsv", {}),
    ("GET", "/mappings", {"Accept": "image/png"}), ("GET", "/downloads/", {}), ("GET", "/downloads/catalogue.ttl", {}),
    ("GET", "/downloads/nope", {}), ("GET", "/sparql", {}), ("POST", "/sparql", {"Content-Type": "text/plain"}),
    ("DELETE", "/sparql", {}), ("GET", "/static/query.js", {}), ("GET", "/static/nope.js", {}),
]


@pytest.mark.parametrize("method, path, headers", EVERY_KIND, ids=[f"{m} {p} {h}" for m, p, h in EVERY_KIND])
def test_every_answer_is_open_to_other_origins(client, method, path, headers):
    response = client.open(path, method=method, headers={"Origin": "https://hr.example", **headers})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_not_modified_keeps_cors(client):
    etag = client.get(COMPETENCY).headers["ETag"]
    response = client.get(COMPETENCY, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path, methods", [(COMPETENCY, "GET, HEAD, OPTIONS"), ("/sparql", "GET, HEAD, POST, OPTIONS"),
                                           ("/mappings", "GET, HEAD, OPTIONS")])
def test_preflight_allows_the_routes_methods_and_the_headers_asked(client, path, methods):
    response = client.options(path, headers={"Origin": "https://hr.example", "Access-Control-Request-Method": "GET",
                                             "Access-Control-Request-Headers": "if-none-match, x-trace-id"})
    assert response.headers["Access-Control-Allow-Methods"] == methods
    allowed = [h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")]
    assert "if-none-match" in allowed and "x-trace-id" in allowed and "content-type" in allowed
    assert response.headers["Access-Control-Max-Age"] == "86400"
    assert "Content-Type" not in response.headers and response.get_data() == b""


def test_werkzeug_refusals_are_plain_text(client):
    response = client.delete("/sparql")
    assert response.status_code == 405
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.get_data(as_text=True).startswith("405 Method Not Allowed: ")
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "HEAD", "POST", "OPTIONS"}


def test_an_unexpected_error_is_logged_and_answered_500_without_traceback(app, monkeypatch, caplog):
    def broken(iri):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(app.extensions["ckg"].descriptions, "resource", broken)
    with caplog.at_level(logging.ERROR, logger="service"):
        response = app.test_client().get(COMPETENCY + "/level/2.nt")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.content_type == "text/plain; charset=utf-8"
    assert body.startswith("500 Internal Server Error: ") and "has been logged" in body and body.endswith("\n")
    assert "secret internal detail" not in body and "Traceback" not in body
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "secret internal detail" in str(logged[0].exc_info[1])
    assert COMPETENCY + "/level/2.nt" in logged[0].getMessage()


def test_pages_are_the_same_bytes_in_every_process(app):
    """A page that printed a Python object's address differed per worker, and so did its ETag (no 304)."""
    other = create_app(ServiceConfig())
    for path in ("/competency/", "/level/", "/cluster/"):
        ours = app.test_client().get(path, headers={"Accept": "text/html"})
        theirs = other.test_client().get(path, headers={"Accept": "text/html"})
        assert b" at 0x" not in ours.get_data()
        assert ours.headers["ETag"] == theirs.headers["ETag"]


@pytest.mark.parametrize("path, names", [(COMPETENCY, "jsonld, ttl, nt, rdf, html"), ("/mappings", "html, tsv, jsonld"),
                                         ("/downloads/", "json, html")])
def test_every_route_refuses_an_unknown_format_alike(client, path, names):
    response = client.get(path + "?format=bogus")
    assert response.status_code == 400
    assert response.get_data(as_text=True) == f"400 Bad Request: unknown format 'bogus'; use one of: {names}\n"


@pytest.mark.parametrize("path", [COMPETENCY, "/mappings", "/downloads/"])
def test_every_route_names_its_offer_in_a_406(client, path):
    response = client.get(path, headers={"Accept": "image/png"})
    assert response.status_code == 406 and response.content_type == "text/plain; charset=utf-8"
    first = response.get_data(as_text=True).splitlines()[0]
    assert first.startswith("406 Not Acceptable: ") and " is offered as " in first
    assert "Accept" in response.headers["Vary"]
