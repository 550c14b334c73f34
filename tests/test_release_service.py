"""The service serves every release: the list, each release's page with What changed (nl, en), its
files, every resource as it was, each resource's history, and 410 Gone after a major removal."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import rdflib
from click.testing import CliRunner

from ckg.cli import cli
from service import create_app
from service.config import ServiceConfig

from release_support import ADDED, NEW_TEXT, OLD_TEXT, REWORDED, copy_bundled, make_second_release, set_version

BASE = "https://w3id.org/competency-kg/"
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
CKG = rdflib.Namespace("https://w3id.org/competency-kg/def#")


def _release(catalog) -> None:
    result = CliRunner().invoke(cli, ["release", str(catalog)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    catalog = make_second_release(copy_bundled(tmp_path_factory.mktemp("svc") / "catalog"))
    _release(catalog)
    return catalog


@pytest.fixture(scope="module")
def client(catalog):
    return create_app(ServiceConfig(catalog_dir=str(catalog))).test_client()


def _turtle(client, path: str) -> rdflib.Graph:
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200, (path, response.data)
    return rdflib.Graph().parse(data=response.data, format="turtle")


def test_release_list_newest_first_in_html_and_rdf(client):
    page = client.get("/release/", headers={"Accept": "text/html"}).data.decode()
    assert page.index('href="/release/1.1.0/') < page.index('href="/release/1.0.0/')
    graph = _turtle(client, "/release/")
    assert set(graph.objects(rdflib.URIRef(BASE), DCAT.hasVersion)) == {
        rdflib.URIRef(BASE + "release/1.0.0/"), rdflib.URIRef(BASE + "release/1.1.0/")}


def test_release_description_in_rdf(client):
    graph = _turtle(client, "/release/1.1.0/")
    node = rdflib.URIRef(BASE + "release/1.1.0/")
    assert (node, DCAT.previousVersion, rdflib.URIRef(BASE + "release/1.0.0/")) in graph
    assert rdflib.URIRef(BASE + "release/1.1.0/catalogue.ttl") in set(graph.objects(node, DCAT.distribution))


@pytest.mark.parametrize("lang,heading,deprecated", [("nl", "Wat is er veranderd", "Vervallen"), ("en", "What changed", "Deprecated")])
def test_what_changed_page(client, lang, heading, deprecated):
    page = client.get(f"/release/1.1.0/?lang={lang}", headers={"Accept": "text/html"}).data.decode()
    assert heading in page
    added = page[page.index('class="changes-added"'):page.index('class="changes-changed"')]
    for slug in ADDED:
        assert f'href="/release/1.1.0/competency/{slug}?lang={lang}"' in added
    dep = page[page.index('class="changes-deprecated"'):page.index('class="changes-removed"')]
    assert deprecated in dep and "klantgerichtheid" in dep
    # The reworded criterion belongs to the deprecated competency, so it is deprecated with it (see README):
    # listed there, replaced by the replacements' level 2, with its old and new text side by side in one row.
    item = dep[dep.index(f'href="/release/1.1.0/{REWORDED}?lang={lang}"'):]
    item = item[:item.index("</li>")]
    for slug in ADDED:
        assert f'href="/release/1.1.0/competency/{slug}/level/2?lang={lang}"' in item
    row = item[item.index("<tr><th scope=\"row\""):]
    row = row[:row.index("</tr>")]
    assert f"<del>{OLD_TEXT}</del>" in row and f"<ins>{NEW_TEXT}</ins>" in row
    for slug in ADDED:
        assert f'href="/release/1.1.0/competency/{slug}?lang={lang}"' in dep


def test_resource_as_it_was_in_each_release(client):
    criterion = rdflib.URIRef(BASE + REWORDED)
    old = _turtle(client, f"/release/1.0.0/{REWORDED}")
    new = _turtle(client, f"/{REWORDED}")
    assert (criterion, CKG.statement, rdflib.Literal(OLD_TEXT, lang="nl")) in old
    assert (criterion, CKG.statement, rdflib.Literal(NEW_TEXT, lang="nl")) in new
    assert _turtle(client, f"/release/1.0.0/{REWORDED}.ttl").isomorphic(old)
    page = client.get(f"/release/1.0.0/{REWORDED}.html")
    assert page.status_code == 200 and OLD_TEXT in page.data.decode()
    again = client.get(f"/release/1.0.0/{REWORDED}.ttl", headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 200  # another format, another ETag
    etag = again.headers["ETag"]
    assert client.get(f"/release/1.0.0/{REWORDED}.ttl", headers={"If-None-Match": etag}).status_code == 304
    # the old release does not know what came later
    assert client.get("/release/1.0.0/competency/klantbewustzijn", headers={"Accept": "text/turtle"}).status_code == 404
    # links on an old page stay inside that release
    assert 'href="/release/1.0.0/competency/klantgerichtheid/level/2?lang=nl"' in page.data.decode()  # its level


def test_data_as_it_was_in_a_release_is_immutable_and_the_pages_around_it_are_not(client):
    """A release's graph never changes, so neither does its data; a CDN may keep it a year. Its HTML shows the
    site around it, the current pages change with every release, and the release list grows."""
    immutable = "public, max-age=31536000, immutable"
    for path, accept in ((f"/release/1.0.0/{REWORDED}.ttl", "*/*"), (f"/release/1.0.0/{REWORDED}", "application/ld+json"),
                         ("/release/1.1.0/competency/", "text/turtle")):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["Cache-Control"] == immutable, path
        again = client.get(path, headers={"Accept": accept, "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.headers["Cache-Control"] == immutable, path
    for path, accept in ((f"/release/1.0.0/{REWORDED}", "text/html"), ("/release/1.0.0/", "text/turtle"),
                         ("/release/", "text/turtle"), (f"/{REWORDED}.ttl", "*/*")):
        assert "immutable" not in client.get(path, headers={"Accept": accept}).headers.get("Cache-Control", ""), path


def test_history_on_the_resource_page(client):
    page = client.get(f"/{REWORDED}.html?lang=en").data.decode()
    history = page[page.index('class="history"'):]
    assert 'href="/release/1.0.0/?lang=en"' in history and 'href="/release/1.1.0/?lang=en"' in history
    assert f'href="/release/1.1.0/{REWORDED}?lang=en"' in history
    assert history.index("1.0.0") < history.index("1.1.0") and "deprecated" in history


def test_release_files_are_immutable_downloads(client, catalog):
    response = client.get("/release/1.0.0/catalogue.ttl")
    body = response.data
    assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
    assert response.headers["ETag"].strip('"') == hashlib.sha256(body).hexdigest()
    assert body == (catalog / "releases/1.0.0/catalogue.ttl").read_bytes()
    changes = json.loads(client.get("/release/1.1.0/changes.json").data)
    # the competency, its 5 levels and their criteria (deprecated with it)
    owned = [c for c in changes["changes"] if c["iri"].startswith(BASE + "competency/klantgerichtheid")]
    assert changes["counts"]["deprecated"] == len(owned) > 5 and {c["change"] for c in owned} == {"deprecated"}


def test_removed_in_a_major_release_answers_410_gone(catalog, tmp_path):
    major = shutil.copytree(catalog, tmp_path / "c")
    (major / "competencies" / "klantgerichtheid.yaml").unlink()
    (major / "mappings" / "esco.sssom.tsv").unlink()
    set_version(major, "2.0.0", "2026-12-15")
    _release(major)
    client = create_app(ServiceConfig(catalog_dir=str(major))).test_client()
    text = client.get("/competency/klantgerichtheid", headers={"Accept": "text/plain"})
    assert text.status_code == 410
    body = text.data.decode()
    assert text.content_type == "text/plain; charset=utf-8" and 'rel="memento"' in text.headers["Link"]
    assert body.startswith("410 Gone: ") and body.endswith("\n") and not body.endswith("\n\n")
    assert "removed in release 2.0.0" in body and "/release/1.1.0/competency/klantgerichtheid" in body
    for slug in ADDED:
        assert f"Replaced by: /competency/{slug}" in body
    as_json = client.get("/competency/klantgerichtheid", headers={"Accept": "application/json"})
    assert as_json.status_code == 410 and json.loads(as_json.data)["lastRelease"] == "1.1.0"
    html = client.get("/competency/klantgerichtheid/level/3", headers={"Accept": "text/html"})
    assert html.status_code == 410 and 'href="/release/1.1.0/competency/klantgerichtheid/level/3' in html.data.decode()
    assert client.get("/release/1.1.0/competency/klantgerichtheid", headers={"Accept": "text/turtle"}).status_code == 200
    assert client.get("/competency/never-was", headers={"Accept": "text/plain"}).status_code == 404


def test_releases_follow_the_catalogue_to_another_base(catalog):
    """Releases written under the catalogue's base are served under --base, the vocabulary unchanged."""
    other = "http://127.0.0.1:9/kg/"
    client = create_app(ServiceConfig(catalog_dir=str(catalog), base=other)).test_client()
    graph = _turtle(client, "/release/1.0.0/competency/klantgerichtheid")
    subject = rdflib.URIRef(other + "competency/klantgerichtheid")
    assert (subject, rdflib.RDF.type, CKG.Competency) in graph
    assert (subject, rdflib.SKOS.broader, rdflib.URIRef(other + "cluster/ondernemen")) in graph
    page = client.get(f"/{REWORDED}.html?lang=en").data.decode()
    assert 'href="/release/1.1.0/?lang=en"' in page  # the history found the rebased change set


def test_a_release_under_another_base_compares_like_for_like(tmp_path):
    catalog = copy_bundled(tmp_path / "c")
    path = catalog / "competencies" / "klantgerichtheid.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD_TEXT, NEW_TEXT), encoding="utf-8")
    set_version(catalog, "1.0.1")
    result = CliRunner().invoke(cli, ["release", "--base", "http://127.0.0.1:9/kg/", str(catalog)])
    assert result.exit_code == 0, result.output
    assert "0 added, 1 changed, 0 deprecated, 0 removed" in result.output


def test_what_changed_lists_an_added_competency_once(client):
    page = client.get("/release/1.1.0/?lang=en", headers={"Accept": "text/html"}).data.decode()
    added = page[page.index('class="changes-added"'):page.index('class="changes-changed"')]
    assert f"({len(ADDED)})" in added  # the two competencies, not their 20 levels and criteria
    assert "/level/" not in added


def test_parallel_requests_for_an_old_release_load_it_once(tmp_path, monkeypatch):
    """A feed client's first pages arrive together: one parse of the release, not one per request."""
    import threading

    from service.archive import Archive

    app = create_app(ServiceConfig(catalog_dir=str(copy_bundled(tmp_path / "catalog"))))
    archive = app.extensions["ckg"].archive
    loads = []
    real_load = Archive._load

    def counted(self, version):
        loads.append(version)
        return real_load(self, version)

    monkeypatch.setattr(Archive, "_load", counted)
    start = threading.Barrier(8)
    answers = []

    def ask() -> None:
        start.wait()
        answers.append(archive.descriptions("1.0.0"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == ["1.0.0"]
    assert len(answers) == 8 and all(answer is answers[0] for answer in answers)
