"""``ckg serve --store``: the catalogue read from a real engine (Oxigraph server, Virtuoso) answers like embedded mode.

The engines are started by the conftest fixtures and loaded with ``ckg publish`` (as the publish tests
do), into a graph of their own so other tests' graphs cannot interfere. For every IRI of the bundled
catalogue, every listing page and the dataset, in every format, the answer from the engine is compared
with embedded mode's: the same status and headers, the same bytes (the RDF writers sort their input, so
isomorphic graphs give equal bytes; N-Triples is also compared as graphs), the same HTML. Both sides have the
bundled release 1.0.0 (a release is its base's: the engines are shared with tests that publish it, so the
engine side sees it whoever published it first), so every page's history is compared too; every page, its
Open Badges alignment block included, must match byte for byte. Release pages and files, old resources,
the feed: tests/test_store_releases.py.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from conftest import ROOT, free_port
sys.path.insert(0, str(ROOT / "bench"))
from synthetic import generate  # noqa: E402
from engines import Engine
from exports.publication import current_graph
from store_case_support import assert_same_alignments, assert_same_case
from store_support import http_get, publish_folder
from service.app import create_app
from service.config import ServiceConfig
from service import store_catalogue
from service.describe import LISTINGS

ENGINES = ["oxigraph", "virtuoso"]
GRAPH = "https://example.org/ckg-store-tests/current"
"""Where the tests publish the catalogue: a graph of their own, named with --store-graph."""
FORMATS = ("jsonld", "nt", "ttl", "rdf", "html")


@pytest.fixture(scope="module")
def catalogue_copy(tmp_path_factory) -> Path:
    """The bundled catalogue, with its release 1.0.0."""
    folder = tmp_path_factory.mktemp("store") / "catalog"
    shutil.copytree(ROOT / "catalog", folder)
    return folder


@pytest.fixture(scope="module")
def embedded(catalogue_copy: Path):
    app = create_app(ServiceConfig.from_env(catalog_dir=str(catalogue_copy)))
    return app.test_client(), app.extensions["ckg"]


def publish(engine: Engine, catalogue: Path, *args: str, graph: str = GRAPH) -> None:
    publish_folder(engine, catalogue, graph, *args)


@pytest.fixture(scope="module", params=ENGINES)
def store(request, catalogue_copy: Path):
    """A --store app (in-process) over an engine loaded with the catalogue; the engine too."""
    engine: Engine = request.getfixturevalue(request.param)
    # other graphs beside ours, as the publish tests leave them: after a republish of the same triples
    # into another graph, Virtuoso answered `*` property paths with nothing for ours (found by the suite)
    publish(engine, catalogue_copy, graph="https://w3id.org/competency-kg/")
    for _ in range(2):  # a republish, in small chunks, as the publish tests do
        publish(engine, catalogue_copy, "--chunk", "100", graph="https://example.org/ckg-store-tests/other")
    publish(engine, generate(catalogue_copy.parent / "synthetic", 30), graph="https://example.org/ckg-store-tests/more")
    publish(engine, catalogue_copy)
    app = create_app(ServiceConfig.from_env(store=engine.query, store_graph=GRAPH))
    return app.test_client(), engine


def every_path(site) -> list[str]:
    """Every IRI below the base (those of the releases aside), the dataset, listing pages, the release list."""
    paths = sorted(s[len(site.base):] for s in site.descriptions.by_subject
                   if s.startswith(site.base) and not s.startswith(site.base + "release/"))
    listings = [f"{segment}/" for segment in LISTINGS]
    return [*paths, *listings, *(f"{p}?deprecated=include" for p in listings), "competency/?page=2",
            "level/?page=0", "def", "shapes", "release/"]


def url(path: str, fmt: str) -> str:
    return f"/{path}{'&' if '?' in path else '?'}format={fmt}"


def test_every_resource_listing_and_the_dataset_answer_as_embedded(embedded, store) -> None:
    client, site = embedded
    engine_client, _ = store
    paths = every_path(site)
    assert "" in paths and "competency/klantgerichtheid" in paths and len(paths) > 60
    for path in paths:
        for fmt in FORMATS:
            want, got = client.get(url(path, fmt)), engine_client.get(url(path, fmt))
            assert got.status_code == want.status_code, (path, fmt, got.data[:300])
            assert got.headers["Content-Type"] == want.headers["Content-Type"], (path, fmt)
            assert got.headers.get("Link") == want.headers.get("Link"), (path, fmt)
            # the writers sort their input, so the same graph gives the same bytes (and the same ETag)
            assert got.data == want.data, (path, fmt)
            assert got.headers.get("ETag") == want.headers.get("ETag"), (path, fmt)
            if fmt == "nt" and want.status_code == 200:
                mine, theirs = Graph().parse(data=got.data, format="nt"), Graph().parse(data=want.data, format="nt")
                assert len(theirs) > 0 and isomorphic(mine, theirs), (path, len(mine), len(theirs))


@pytest.mark.parametrize("guess", ["nothing", "every mapped node"])
def test_a_wrong_guess_of_the_mapped_nodes_changes_no_description(embedded, store, monkeypatch, guess: str) -> None:
    """A description reads the mapping records of the mapped nodes its IRI has below it (from the site's list
    of mapped nodes) in its first query. An owned node mapped elsewhere is read by a further query, and the
    records of nodes it does not own are left out, so a guess wrong either way changes no answer."""
    client, site = embedded
    _, engine = store
    app = create_app(ServiceConfig.from_env(store=engine.query, store_graph=GRAPH, render_cache_size=0))
    mapped = app.extensions["ckg"].descriptions.mapped()
    competency = site.base + "competency/klantgerichtheid"
    assert len(store_catalogue._below(mapped, competency)) >= 10  # the bundled mappings: the competency and its criteria
    monkeypatch.setattr(store_catalogue, "_below", (lambda iris, node: []) if guess == "nothing" else (lambda iris, node: iris))
    paths = [s[len(site.base):] for s in site.descriptions.by_subject if s.startswith(competency) or s in mapped]
    assert len(paths) > 20
    engine_client = app.test_client()
    for path in paths:
        for fmt in ("nt", "html"):
            want, got = client.get(url(path, fmt)), engine_client.get(url(path, fmt))
            assert (got.status_code, got.data) == (want.status_code, want.data), (path, fmt)


def test_an_iri_above_the_competencies_asks_about_no_mapped_node(embedded, store, monkeypatch) -> None:
    """``{base}competency`` is a prefix of every competency's IRI: describing it must not send the engine the
    IRIs of every mapped node (an amplification any client could ask for), only what it owns."""
    client, _ = embedded
    _, engine = store
    app = create_app(ServiceConfig.from_env(store=engine.query, store_graph=GRAPH, render_cache_size=0))
    reader = app.extensions["ckg"].descriptions.engine
    sent: list[str] = []
    construct = reader.construct
    monkeypatch.setattr(reader, "construct", lambda query: sent.append(query) or construct(query))
    asked = {}
    for path in ("/competency.ttl", "/competency/klantgerichtheid.ttl"):
        sent.clear()
        want, got = client.get(path), app.test_client().get(path)
        assert (got.status_code, got.data) == (want.status_code, want.data), path
        asked[path] = [query.count("annotatedSource") for query in sent]
    assert asked["/competency.ttl"] and not any(asked["/competency.ttl"])
    assert asked["/competency/klantgerichtheid.ttl"][0] > 0  # its own mappings, in its first query


def test_listing_pages_keep_the_embedded_order_and_paging(catalogue_copy: Path, store) -> None:
    """Two items a page: the five levels (ordered by rank) span three pages, with the same links and members."""
    _, engine = store
    client = create_app(ServiceConfig.from_env(catalog_dir=str(catalogue_copy), page_size=2)).test_client()
    engine_client = create_app(ServiceConfig.from_env(store=engine.query, store_graph=GRAPH, page_size=2)).test_client()
    for path in ("/level/", "/level/?page=2", "/level/?page=3", "/level/?page=4", "/competency/?deprecated=include&page=1"):
        for fmt in ("jsonld", "html"):
            want, got = client.get(path, headers={"Accept": "text/html" if fmt == "html" else "application/ld+json"}), \
                engine_client.get(path, headers={"Accept": "text/html" if fmt == "html" else "application/ld+json"})
            assert (got.status_code, got.data) == (want.status_code, want.data), (path, fmt)
    assert b'"next": "https://w3id.org/competency-kg/level/?page=3"' in engine_client.get("/level/?page=2").data


@pytest.mark.parametrize("accept,status", [
    ("text/turtle", 200), ("application/n-triples;q=0.9, text/html;q=0.5", 200), ("text/html", 200),
    ("application/json", 200), ("*/*", 200), (None, 200), ("image/png", 406), ("text/turtle;q=0", 406),
])
def test_negotiation_and_statuses_are_the_same(embedded, store, accept: str | None, status: int) -> None:
    client, _ = embedded
    engine_client, _ = store
    headers = {"Accept": accept} if accept else {}
    for path in ("/competency/klantgerichtheid", "/level/3", "/competency/", "/", "/competency/klantgerichtheid.ttl"):
        want, got = client.get(path, headers=headers), engine_client.get(path, headers=headers)
        assert want.status_code == status or path.endswith(".ttl")
        assert (got.status_code, got.headers["Content-Type"], got.headers["Vary"]) == \
               (want.status_code, want.headers["Content-Type"], want.headers["Vary"]), (path, accept)
        if got.status_code == 200 and "html" not in got.headers["Content-Type"]:
            assert got.headers["ETag"] == want.headers["ETag"] and got.data == want.data, (path, accept)


def test_unknown_iris_get_the_same_404_and_redirects(embedded, store) -> None:
    client, _ = embedded
    engine_client, _ = store
    for path, accept in (("/competency/klantgerichthied", "text/html"), ("/competency/klantgerichthied", "application/json"),
                         ("/nothing/here", "text/plain"), ("/competency", "*/*"), ("/competency/?page=99", "text/turtle")):
        want, got = client.get(path, headers={"Accept": accept}), engine_client.get(path, headers={"Accept": accept})
        assert got.status_code == want.status_code and got.data == want.data, (path, accept)
    near = engine_client.get("/competency/klantgerichthied", headers={"Accept": "text/plain"})
    assert near.status_code == 404 and b"Did you mean /competency/klantgerichtheid" in near.data


def test_a_second_get_is_served_from_the_render_cache_without_the_engine(store) -> None:
    engine_client, _ = store
    site = engine_client.application.extensions["ckg"]
    first = engine_client.get("/competency/klantgerichtheid.nt")
    engine, site.descriptions.engine = site.descriptions.engine, None  # any engine call now fails loudly
    try:
        again = engine_client.get("/competency/klantgerichtheid.nt", headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304
        assert engine_client.get("/competency/klantgerichtheid.nt").data == first.data
    finally:
        site.descriptions.engine = engine


def test_the_case_api_and_alignments_answer_as_embedded(embedded, store) -> None:
    """CASE 1.1 from one full read of the engine's graph; the alignments from the competency alone."""
    client, site = embedded
    engine_client, _ = store
    assert assert_same_case(client, engine_client) > 100
    assert assert_same_alignments(client, engine_client, site) >= 2 * 6  # the competency and its five levels


@pytest.mark.parametrize("path,accept", [("/mappings", "text/html"), ("/mappings", "text/html;q=0.5, application/ld+json"),
                                         ("/mappings.sssom.tsv", "*/*"), ("/mappings.html?lang=en", "*/*"),
                                         ("/mappings", "image/png")])
def test_the_mapping_tables_are_embedded_modes(embedded, store, path: str, accept: str) -> None:
    client, _ = embedded
    engine_client, _ = store
    want, got = client.get(path, headers={"Accept": accept}), engine_client.get(path, headers={"Accept": accept})
    assert (got.status_code, got.headers["Content-Type"], got.data) == (want.status_code, want.headers["Content-Type"], want.data)
    assert want.status_code == 406 or len(want.data) > 1000


def test_downloads_are_the_release_files_embedded_mode_writes(catalogue_copy: Path, store, tmp_path: Path) -> None:
    """Written on first use from one full read of the engine's graph: every file byte for byte the same."""
    _, engine = store
    embedded = create_app(ServiceConfig.from_env(catalog_dir=str(catalogue_copy),
                                                 downloads_dir=str(tmp_path / "embedded" / "release"))).test_client()
    app = create_app(ServiceConfig.from_env(store=engine.query, store_graph=GRAPH,
                                            downloads_dir=str(tmp_path / "store" / "release")))
    client = app.test_client()
    want, got = embedded.get("/downloads/").get_json(), client.get("/downloads/").get_json()
    assert got["metadata"] == want["metadata"]  # the fingerprint: the same graph, in the same canonical order
    assert [(f["name"], f["sha256"]) for f in got["files"]] == [(f["name"], f["sha256"]) for f in want["files"]]
    assert {f["name"] for f in got["files"]} >= {"catalogue.ttl", "catalogue.csv", "catalogue.sssom.tsv", "catalogue.case.json"}
    for name in ("catalogue.nt", "catalogue.csv"):
        assert client.get(f"/downloads/{name}").data == embedded.get(f"/downloads/{name}").data
    assert client.get("/downloads/", headers={"Accept": "text/html"}).status_code == 200
    assert app.extensions["ckg"].downloads.graph is None  # the full read is not kept once the files are written


def test_the_base_and_graph_are_discovered_when_not_given(oxigraph: Engine, catalogue_copy: Path) -> None:
    publish(oxigraph, catalogue_copy, graph="https://w3id.org/competency-kg/")  # publish's default graph name
    app = create_app(ServiceConfig.from_env(store=oxigraph.query))
    site = app.extensions["ckg"]
    assert site.base == "https://w3id.org/competency-kg/"
    assert site.reading.follows == "https://w3id.org/competency-kg/"  # other names were published beside it
    assert site.descriptions.engine.graph == current_graph(oxigraph.query, "https://w3id.org/competency-kg/")
    assert app.test_client().get("/competency/klantgerichtheid.ttl").status_code == 200


def test_a_base_the_engine_does_not_hold_stops_start_up(oxigraph: Engine, catalogue_copy: Path) -> None:
    from service.engine import EngineError
    publish(oxigraph, catalogue_copy)
    with pytest.raises(EngineError, match="no catalogue in graph .* with IRI https://example.org/other/"):
        create_app(ServiceConfig.from_env(store=oxigraph.query, store_graph=GRAPH, base="https://example.org/other/"))


# ---- the engine down or slow ----


class SilentEngine:
    """A TCP server that accepts connections and never answers (an engine stuck on a query)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.held:
            connection.close()


def test_engine_down_or_stuck_gives_502_or_504_with_a_plain_body(oxigraph: Engine, catalogue_copy: Path) -> None:
    publish(oxigraph, catalogue_copy)
    app = create_app(ServiceConfig.from_env(store=oxigraph.query, store_graph=GRAPH, query_timeout=1.0))
    client, engine = app.test_client(), app.extensions["ckg"].descriptions.engine
    closed = free_port()
    engine.url, engine._port = f"http://127.0.0.1:{closed}/query", closed
    engine.close()
    down = client.get("/competency/klantgerichtheid.ttl")
    assert down.status_code == 502 and down.headers["Content-Type"].startswith("text/plain")
    assert b"cannot reach the SPARQL engine" in down.data
    assert client.get("/status").status_code == 502
    silent = SilentEngine()
    try:
        engine._port = silent.port
        engine.close()
        stuck = client.get("/level/2.ttl")
        assert stuck.status_code == 504 and b"gave no answer within 1 s" in stuck.data
        assert stuck.headers["Retry-After"]
    finally:
        silent.close()


# ---- the real command, from a folder with no catalogue ----


def _get(url: str) -> tuple[int, bytes]:
    return http_get(url, timeout=10)


def test_ckg_serve_store_starts_with_no_yaml_anywhere(oxigraph: Engine, catalogue_copy: Path, tmp_path: Path) -> None:
    publish(oxigraph, catalogue_copy)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    env |= {"CKG_CATALOG": str(tmp_path / "no-such-catalogue"), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "ckg.cli", "serve", "--store", oxigraph.query,
                                    "--store-graph", GRAPH, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                   cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        root = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if _get(root + "status")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert process.poll() is None, log.read_text()
        assert not list(tmp_path.glob("**/*.yaml"))
        status, body = _get(root + "competency/klantgerichtheid.nt")
        assert status == 200 and b"<https://w3id.org/competency-kg/competency/klantgerichtheid>" in body
        assert _get(root + "status")[1].count(GRAPH.encode()) == 1
    finally:
        process.terminate()
        process.wait(30)


def test_ckg_serve_store_with_no_engine_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    closed = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")} | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "ckg.cli", "serve", "--store", f"http://127.0.0.1:{closed}/query",
                             "--port", str(free_port())], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "cannot serve from" in result.stderr and "cannot reach the SPARQL engine" in result.stderr
    assert "Traceback" not in result.stderr


def test_ckg_serve_store_refuses_a_catalogue_folder_too(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")} | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "ckg.cli", "serve", str(ROOT / "catalog"), "--store",
                             "http://127.0.0.1:9/query", "--port", str(free_port())], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "either CATALOG_DIR" in result.stderr
