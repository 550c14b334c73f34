"""``ckg link refresh``: labels of linked concepts fetched with SPARQLWrapper from a local endpoint.

The happy path runs against our own service (``ckg serve`` with ESCO imported, on 127.0.0.1);
the failures (timeout, not an endpoint, nobody listening) against tiny local servers.
"""
from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from pyoxigraph import NamedNode, RdfFormat, parse
from werkzeug.serving import make_server

from catalog import CATALOG_DIR
from ckg.cli import cli
from conftest import free_port, start_server
from esco_support import full_esco  # noqa: F401 - fixture
from competency_kg.compile import compile_catalogue
from linking.esco import ATTRIBUTION, import_esco

FIXTURE = Path(__file__).parent / "fixtures" / "esco" / "esco-mini-v1.1.1.ttl"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
COMPLAINTS = "http://data.europa.eu/esco/skill/28d715e3-3e5b-4fb6-8dd2-4be4919c8587"


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    copy = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*-labels.ttl"))
    return copy


def _refresh(catalog: Path, endpoint: str, *extra: str):
    return CliRunner().invoke(cli, ["link", "refresh", "--endpoint", endpoint, "--catalog", str(catalog), *extra])


@contextmanager
def tiny_server(app: Flask):
    """``app`` under werkzeug on a free 127.0.0.1 port, in a thread, for as long as the block runs."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/sparql"
    finally:
        server.shutdown()
        thread.join(5)


def test_refresh_from_our_service_with_the_esco_fixture(catalog_copy, tmp_path):
    esco = tmp_path / "esco.nq"
    import_esco([FIXTURE], esco)
    # The service serves the copy, which has no labels file: what it knows of ESCO comes from CKG_ESCO alone.
    with start_server("--workers", "1", str(catalog_copy), env={"CKG_ESCO": str(esco)}) as url:
        strict = _refresh(catalog_copy, url + "sparql")
        lenient = _refresh(catalog_copy, url + "sparql", "--keep-going", "--source-version", "ESCO v1.1.1 (fixture)")
    assert strict.exit_code == 1
    assert "knows nothing about ESCO:skill/5b0f2198-7246-4256-a902-4d9ce1260c80" in strict.output
    assert "linked concepts are unknown to the endpoint; nothing written" in strict.output
    labels = catalog_copy / "mappings" / "esco-labels.ttl"
    assert lenient.exit_code == 0, lenient.output
    text = labels.read_text(encoding="utf-8")
    assert f"# endpoint: {url}sparql" in text and "# source version: ESCO v1.1.1 (fixture)" in text
    assert f"# {ATTRIBUTION}" in text and "# fetched: 20" in text
    triples = {(t.subject.value, t.predicate.value, t.object.value) for t in parse(path=str(labels), format=RdfFormat.TURTLE)}
    assert (COMPLAINTS, SKOS_PREF, "handle customer complaints") in triples
    assert not any(o == "gérer les réclamations des clients" for _, _, o in triples), "only the asked languages"
    graph = compile_catalogue(catalog_copy).graph
    store = graph.store()
    assert [q.object.value for q in store.quads_for_pattern(NamedNode(COMPLAINTS), NamedNode(SKOS_PREF), None)] == \
        ["handle customer complaints"]


def test_refresh_from_our_service_with_all_of_esco(catalog_copy, full_esco):
    with start_server("--workers", "1", str(catalog_copy), env={"CKG_ESCO": str(full_esco[0])}) as url:
        result = _refresh(catalog_copy, url + "sparql")
    assert result.exit_code == 0, result.output
    assert "about 15 of 15 concepts" in result.output
    assert "# source version: ESCO v1.1.1" in (catalog_copy / "mappings" / "esco-labels.ttl").read_text(encoding="utf-8")


def test_unreachable_endpoint(catalog_copy):
    result = _refresh(catalog_copy, f"http://127.0.0.1:{free_port()}/sparql")
    assert result.exit_code == 1
    assert "cannot reach http://127.0.0.1:" in result.output and "Connection refused" in result.output
    assert not (catalog_copy / "mappings" / "esco-labels.ttl").exists()


def test_endpoint_that_does_not_answer_in_time(catalog_copy):
    app = Flask("slow")
    release = threading.Event()

    @app.route("/sparql", methods=["GET", "POST"])
    def slow():
        release.wait(10)
        return "{}"

    with tiny_server(app) as endpoint:
        try:
            result = _refresh(catalog_copy, endpoint, "--timeout", "1")
        finally:
            release.set()
    assert result.exit_code == 1
    assert f"{endpoint} did not answer within 1 s" in result.output


def test_something_that_is_not_a_sparql_endpoint(catalog_copy):
    app = Flask("html")

    @app.route("/sparql", methods=["GET", "POST"])
    def page():
        return "<html>hello</html>", 200, {"Content-Type": "text/html"}

    with tiny_server(app) as endpoint:
        result = _refresh(catalog_copy, endpoint)
    assert result.exit_code == 1
    assert endpoint in result.output and "SPARQL" in result.output
