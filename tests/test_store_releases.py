"""``ckg serve --store`` serves every release from the engine alone, as embedded mode serves it from the folders.

A temporary copy of the bundled catalogue gets two more releases: 1.1.0 (two competencies added, a
criterion reworded, klantgerichtheid deprecated: ``release_support``) and 2.0.0 (klantgerichtheid
removed). The folder is published with the real ``ckg publish`` into a fresh engine of this module's own
(every release into its version graph; Oxigraph server, then Virtuoso), and the store app (no catalogue folder) is compared with the
embedded app serving the folder: the release list, each release's page with What changed, every resource
as it was in each release (every format, listings too), the history on every current page, the 410 Gone of
the removed resources, and the release files, byte for byte. The change sets the store serves are derived
in the engine, never read from a changes.json.
"""
from __future__ import annotations

import json
import re
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from conftest import free_port, skip_reason
from engines import oxigraph_binary, oxigraph_server, virtuoso_binary, virtuoso_server
from release_support import copy_bundled, make_three_releases
from service.app import create_app
from service.config import ServiceConfig
from service.describe import LISTINGS
from store_case_support import assert_same_alignments, assert_same_case
from store_support import http_get, modes, publish_folder  # noqa: F401  (modes: the session's engine-backed servers)

GRAPH = "https://example.org/ckg-store-release-tests/current"
FORMATS = ("jsonld", "nt", "ttl", "rdf", "html")
VERSIONS = ("1.0.0", "1.1.0", "2.0.0")
OLD_JSONLD = re.compile(rb'<li><a href="/release/1.0.0/catalogue.jsonld".*?</li>')
"""The committed release 1.0.0 was written before the JSON-LD context gained a term: its catalogue.jsonld,
rewritten from the engine's graph today, holds the same triples in other bytes (the size and checksum shown)."""
REMOVED = "competency/klantgerichtheid"



@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """The bundled catalogue with releases 1.0.0 (committed), 1.1.0 and 2.0.0 (made here)."""
    folder = make_three_releases(copy_bundled(tmp_path_factory.mktemp("store-releases") / "catalog"))
    assert sorted(p.name for p in (folder / "releases").iterdir() if not p.name.startswith(".")) == list(VERSIONS)
    return folder


@pytest.fixture(scope="module")
def embedded(catalog: Path):
    app = create_app(ServiceConfig.from_env(catalog_dir=str(catalog)))
    return app.test_client(), app.extensions["ckg"]


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def store(request, catalog: Path, tmp_path_factory):
    """The store app over a fresh engine that ``ckg publish`` loaded with the folder and its releases."""
    if request.param == "oxigraph" and not oxigraph_binary():
        pytest.skip(skip_reason("the oxigraph server (pip install oxigraph, in the test extra)"))
    if request.param == "virtuoso" and not virtuoso_binary():
        pytest.skip(skip_reason("virtuoso-t (apt-get install virtuoso-opensource)"))
    with ExitStack() as stack:
        engine = stack.enter_context(oxigraph_server(free_port()) if request.param == "oxigraph"
                                     else virtuoso_server(free_port(), free_port()))
        publish_folder(engine, catalog, GRAPH)
        downloads = tmp_path_factory.mktemp("store-downloads") / "files"
        app = create_app(ServiceConfig.from_env(store=engine.query, store_graph=GRAPH, downloads_dir=str(downloads)))
        yield app.test_client(), app.extensions["ckg"], engine


def url(path: str, fmt: str, lang: str = "") -> str:
    query = f"format={fmt}" + (f"&lang={lang}" if lang else "")
    return f"/{path}{'&' if '?' in path else '?'}{query}"


def same(client, engine_client, path: str, fmt: str, lang: str = "", mask: re.Pattern | None = None) -> int:
    """Both apps answer ``path`` alike: status, type, links, ETag and bytes; returns the status."""
    want, got = client.get(url(path, fmt, lang)), engine_client.get(url(path, fmt, lang))
    assert got.status_code == want.status_code, (path, fmt, got.data[:300], want.data[:300])
    assert got.headers["Content-Type"] == want.headers["Content-Type"], (path, fmt)
    assert got.headers.get("Link") == want.headers.get("Link"), (path, fmt)
    expected = want.data
    if mask is not None:
        expected, mine = mask.sub(b"", expected), mask.sub(b"", got.data)
        assert mine == expected and mine != got.data, (path, fmt, lang)
        return want.status_code
    assert got.data == expected, (path, fmt, lang)
    if mask is None:
        assert got.headers.get("ETag") == want.headers.get("ETag"), (path, fmt)
    return want.status_code


def test_the_engine_knows_every_release_from_its_records(embedded, store) -> None:
    _, site = embedded
    _, store_site, _ = store
    assert store_site.archive.versions() == site.archive.versions() == list(reversed(VERSIONS))
    assert store_site.archive.current_version == "2.0.0"
    for version in VERSIONS:
        ours, theirs = store_site.archive.records[version], site.archive.records[version]
        assert (ours.issued, ours.previous, ours.license, ours.title) == \
               (theirs.issued, theirs.previous, theirs.license, theirs.title), version


def test_change_sets_derived_in_the_engine_equal_the_written_ones(catalog: Path, store) -> None:
    _, store_site, _ = store
    for version in VERSIONS:
        written = json.loads((catalog / "releases" / version / "changes.json").read_text(encoding="utf-8"))
        assert store_site.archive.changes(version) == written, version
    assert store_site.archive.changes("1.1.0")["counts"]["deprecated"] > 5
    assert store_site.archive.changes("2.0.0")["counts"]["removed"] > 5


def test_release_list_and_release_pages_answer_as_embedded(embedded, store) -> None:
    client, _ = embedded
    engine_client, _, _ = store
    for path in ("release/", *(f"release/{v}/" for v in VERSIONS)):
        mask = OLD_JSONLD if path == "release/1.0.0/" else None
        for fmt in FORMATS:
            assert same(client, engine_client, path, fmt, mask=mask if fmt == "html" else None) == 200
        for lang in ("nl", "en"):
            same(client, engine_client, path, "html", lang, mask=mask)
    page = engine_client.get("/release/1.1.0/?lang=en", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/release/1.1.0/competency/klantbewustzijn?lang=en"' in page and "sha256:" in page


def test_every_resource_as_it_was_in_each_release_answers_as_embedded(embedded, store) -> None:
    client, site = embedded
    engine_client, _, _ = store
    compared = 0
    for version in VERSIONS:
        index, _ = site.archive.descriptions(version)
        paths = sorted(s[len(site.base):] for s in index.by_subject
                       if s.startswith(site.base) and not s.startswith(site.base + "release/") and s != site.base)
        paths += [f"{segment}/" for segment in LISTINGS] + ["competency/?deprecated=include", "never/was"]
        for path in paths:
            for fmt in FORMATS:
                same(client, engine_client, f"release/{version}/{path}", fmt)
                compared += 1
    assert compared > 3 * 60 * len(FORMATS)
    # what a release did not have yet is not in it
    assert engine_client.get("/release/1.0.0/competency/klantbewustzijn", headers={"Accept": "text/turtle"}).status_code == 404


def test_history_on_every_current_page_answers_as_embedded(embedded, store) -> None:
    client, site = embedded
    engine_client, _, _ = store
    paths = sorted(s[len(site.base):] for s in site.descriptions.by_subject
                   if s.startswith(site.base) and not s.startswith(site.base + "release/"))
    with_history = 0
    for path in paths:
        for lang in ("nl", "en"):
            same(client, engine_client, path, "html", lang)
        with_history += bool(site.archive.history(site.base + path))
    assert with_history > 20
    page = engine_client.get("/competency/klantbewustzijn?lang=en", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/release/1.1.0/?lang=en"' in page


def test_removed_resources_answer_410_gone_as_embedded(embedded, store) -> None:
    client, site = embedded
    engine_client, _, _ = store
    removed = [c["iri"][len(site.base):] for c in site.archive.changes("2.0.0")["changes"] if c["change"] == "removed"]
    assert REMOVED in removed and len(removed) > 5
    for path in removed:
        for accept in ("text/plain", "application/json", "text/html", "text/turtle"):
            want = client.get(f"/{path}", headers={"Accept": accept})
            got = engine_client.get(f"/{path}", headers={"Accept": accept})
            assert want.status_code == 410
            assert (got.status_code, got.headers["Content-Type"], got.headers["Link"], got.data) == \
                   (want.status_code, want.headers["Content-Type"], want.headers["Link"], want.data), (path, accept)
    assert engine_client.get("/competency/never-was", headers={"Accept": "text/plain"}).status_code == 404


def test_release_files_are_the_released_bytes(catalog: Path, store) -> None:
    """Written from the release's graph in the engine: the very files ``ckg release`` wrote (but for one
    written by an older JSON-LD writer: the same graph, see OLD_JSONLD)."""
    engine_client, _, _ = store
    rewritten = []
    for version in VERSIONS:
        folder = catalog / "releases" / version
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        served = json.loads(engine_client.get(f"/release/{version}/manifest.json").data)
        assert served["metadata"] == manifest["metadata"] and served["triples"] == manifest["triples"], version
        for entry, mine in zip(manifest["files"], served["files"], strict=True):
            response = engine_client.get(f"/release/{version}/{entry['name']}")
            assert response.status_code == 200, (version, entry["name"])
            assert response.headers["ETag"] == f'"{mine["sha256"]}"' and mine["name"] == entry["name"]
            assert "immutable" in response.headers["Cache-Control"]
            if response.data != (folder / entry["name"]).read_bytes():
                rewritten.append((version, entry["name"]))
                released = Graph().parse(data=(folder / entry["name"]).read_bytes(), format="json-ld")
                assert isomorphic(Graph().parse(data=response.data, format="json-ld"), released) and len(released) > 600
            else:
                assert mine == entry, (version, entry["name"])
        assert engine_client.get(f"/release/{version}/changes.json").data == (folder / "changes.json").read_bytes()
    assert rewritten == [("1.0.0", "catalogue.jsonld")]


def test_the_feed_answers_as_embedded(embedded, store) -> None:
    """The LDES feed, from the change sets derived in the engine and each member's statements read per page."""
    client, site = embedded
    engine_client, _, _ = store
    paths = ["/feed", "/feed/", *(f"/feed/{v}/1" for v in VERSIONS), "/feed/1.1.0/2", "/feed/9.9.9/1"]
    members = 0
    for path in paths:
        for accept in ("application/ld+json", "text/turtle", "application/n-triples", "application/trig", "image/png"):
            want, got = client.get(path, headers={"Accept": accept}), engine_client.get(path, headers={"Accept": accept})
            assert (got.status_code, got.headers["Content-Type"], got.headers.get("ETag"), got.headers.get("Cache-Control")) \
                == (want.status_code, want.headers["Content-Type"], want.headers.get("ETag"), want.headers.get("Cache-Control")), \
                (path, accept)
            assert got.data == want.data, (path, accept)
            members += want.data.count(b"https://www.w3.org/ns/activitystreams#Update")
    assert members > 10


def test_the_case_api_and_alignments_answer_as_embedded(embedded, store) -> None:
    """On the catalogue of release 2.0.0: the two competencies 1.1.0 added (with a rubric each), no mappings."""
    client, site = embedded
    engine_client, _, _ = store
    assert assert_same_case(client, engine_client) > 100
    assert assert_same_alignments(client, engine_client, site) >= 2 * 2 * 6  # two competencies, five levels each


def test_the_real_servers_answer_alike(live_server: str, modes) -> None:
    """``ckg serve --store`` under gunicorn (workers forked after start-up), in front of an engine that the
    real ``ckg publish`` loaded with the bundled catalogue and its release 1.0.0, against ``ckg serve``."""
    engine_server = modes.server("oxigraph")
    paths = ["release/?format=html&lang=en", "release/?format=ttl", "release/1.0.0/?format=html",
             "release/1.0.0/competency/klantgerichtheid?format=html", "release/1.0.0/competency/?format=jsonld",
             "release/1.0.0/catalogue.ttl", "release/1.0.0/changes.json", "competency/klantgerichtheid?format=html",
             "competency/klantgerichtheid/level/2/alignment?lang=en", "feed", "feed/1.0.0/1", "ims/case/v1p1/CFDocuments"]
    for path in paths:
        (status, want), (got_status, got) = http_get(live_server + path), http_get(engine_server + path)
        if path.startswith("release/1.0.0/?"):  # its files list names the rewritten catalogue.jsonld (OLD_JSONLD)
            want, got = OLD_JSONLD.sub(b"", want), OLD_JSONLD.sub(b"", got)
        assert status == 200 and (got_status, got) == (status, want), (path, got[:300])
    assert b'class="alignment"' in http_get(engine_server + "competency/klantgerichtheid?format=html")[1]
