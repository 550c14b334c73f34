"""The change feed ``{base}feed``: an LDES 1.0 event stream of version objects, paged by TREE
relations on time, immutable pages, negotiated; replicated with the real npm ``ldes-client``."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import rdflib
import rdflib.compare

from conftest import ROOT, free_port, skip_reason, start_server
from exports.changes import snapshot_of_ntriples
from service import create_app
from service.config import ServiceConfig

from release_support import ADDED, REWORDED, copy_bundled, make_three_releases

BASE = "https://w3id.org/competency-kg/"
LDES = rdflib.Namespace("https://w3id.org/ldes#")
TREE = rdflib.Namespace("https://w3id.org/tree#")
AS = rdflib.Namespace("https://www.w3.org/ns/activitystreams#")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
JS = ROOT / "tests" / "js"
BETWEEN = "2026-11-30T00:00:00Z"
"""A time after release 1.0.0 (2026-11-27) and before 1.1.0 (2026-12-01) and 2.0.0 (2026-12-15)."""



@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    """Three releases: 1.0.0 (bundled), 1.1.0 (added, reworded, deprecated), 2.0.0 (klantgerichtheid removed)."""
    return make_three_releases(copy_bundled(tmp_path_factory.mktemp("feed") / "catalog"))


@pytest.fixture(scope="module")
def client(catalog):
    return create_app(ServiceConfig(catalog_dir=str(catalog))).test_client()


def _graph(response) -> rdflib.Graph:
    assert response.status_code == 200, response.data
    return rdflib.Graph().parse(data=response.data, format="turtle")


def test_stream_declares_ldes_paths_and_view(client):
    graph = _graph(client.get("/feed", headers={"Accept": "text/turtle"}))
    stream = rdflib.URIRef(BASE + "feed")
    assert (stream, rdflib.RDF.type, LDES.EventStream) in graph
    assert (stream, LDES.timestampPath, PROV.generatedAtTime) in graph
    assert (stream, LDES.versionOfPath, rdflib.DCTERMS.isVersionOf) in graph
    assert (stream, LDES.versionDeleteObject, AS.Delete) in graph
    assert (stream, TREE.view, rdflib.URIRef(BASE + "feed/")) in graph


def test_root_relations_bound_each_page_in_time(client):
    graph = _graph(client.get("/feed/", headers={"Accept": "text/turtle"}))
    bounds: dict[str, dict[str, str]] = {}
    for relation in graph.objects(rdflib.URIRef(BASE + "feed/"), TREE.relation):
        page = str(graph.value(relation, TREE.node))[len(BASE + "feed/"):]
        kind = str(graph.value(relation, rdflib.RDF.type)).rsplit("#", 1)[1]
        assert graph.value(relation, TREE.path) == PROV.generatedAtTime
        bounds.setdefault(page, {})[kind] = str(graph.value(relation, TREE.value))
    # (rdflib writes the UTC of the served "…T00:00:00Z" as +00:00)
    assert bounds == {
        "1.0.0/1": {"GreaterThanOrEqualToRelation": "2026-11-27T00:00:00+00:00", "LessThanRelation": "2026-12-01T00:00:00+00:00"},
        "1.1.0/1": {"GreaterThanOrEqualToRelation": "2026-12-01T00:00:00+00:00", "LessThanRelation": "2026-12-15T00:00:00+00:00"},
        "2.0.0/1": {"GreaterThanOrEqualToRelation": "2026-12-15T00:00:00+00:00"},
    }
    assert client.get("/feed/").headers["Cache-Control"] == "no-cache"


def test_pages_are_immutable_with_etags(client):
    response = client.get("/feed/1.1.0/1", headers={"Accept": "text/turtle"})
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get("/feed/1.1.0/1", headers={"Accept": "text/turtle", "If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/feed/1.1.0/2", headers={"Accept": "text/turtle"}).status_code == 404
    assert client.get("/feed/9.9.9/1", headers={"Accept": "text/turtle"}).status_code == 404


def test_members_are_version_objects_with_create_update_delete(client):
    graph = _graph(client.get("/feed/1.1.0/1", headers={"Accept": "text/turtle"}))
    stream = rdflib.URIRef(BASE + "feed")
    members = set(graph.objects(stream, TREE.member))
    kinds = {str(graph.value(m, rdflib.DCTERMS.isVersionOf))[len(BASE):]:
             {t for t in graph.objects(m, rdflib.RDF.type) if str(t).startswith(str(AS))} for m in members}
    assert kinds[f"competency/{ADDED[0]}"] == {AS.Create}
    assert kinds[REWORDED] == {AS.Update} and kinds["competency/klantgerichtheid"] == {AS.Update}
    reworded = rdflib.URIRef(f"{BASE}release/1.1.0/{REWORDED}")
    assert graph.value(reworded, PROV.generatedAtTime) == rdflib.Literal("2026-12-01T00:00:00Z", datatype=rdflib.XSD.dateTime)
    assert (reworded, rdflib.URIRef("https://w3id.org/competency-kg/def#statement"),
            rdflib.Literal("Vraagt actief naar de wensen van de klant.", lang="nl")) in graph
    removed = _graph(client.get("/feed/2.0.0/1", headers={"Accept": "text/turtle"}))
    gone = rdflib.URIRef(f"{BASE}release/2.0.0/competency/klantgerichtheid#removed")
    assert (gone, rdflib.RDF.type, AS.Delete) in removed


@pytest.mark.parametrize("media_type,rdflib_format", [
    ("application/ld+json", "json-ld"), ("application/n-triples", "nt"),
    ("application/trig", "trig"), ("application/n-quads", "nquads")])
def test_feed_is_negotiated(client, media_type, rdflib_format):
    turtle = _graph(client.get("/feed/1.1.0/1", headers={"Accept": "text/turtle"}))
    response = client.get("/feed/1.1.0/1", headers={"Accept": media_type})
    assert response.status_code == 200 and response.content_type.startswith(media_type)
    data = response.data
    if rdflib_format == "json-ld":  # offline: our context by its IRI is replaced by the bundled file
        document = json.loads(data)
        document["@context"][0] = json.loads((ROOT / "ontology" / "context.jsonld").read_text())["@context"]
        data = json.dumps(document).encode()
    other = rdflib.Dataset().parse(data=data, format=rdflib_format) if rdflib_format in ("trig", "nquads") else \
        rdflib.Graph().parse(data=data, format=rdflib_format)
    triples = rdflib.Graph()
    for quad in (other.quads((None, None, None, None)) if isinstance(other, rdflib.Dataset) else other):
        triples.add(quad[:3])
    assert rdflib.compare.isomorphic(turtle, triples)
    assert client.get("/feed/1.1.0/1", headers={"Accept": "image/png"}).status_code == 406


# ---- the real client ----------------------------------------------------------------------------

NODE_CLIENT = JS / "node_modules" / "ldes-client"


@pytest.fixture(scope="module")
def served_feed(catalog):
    """``ckg serve`` of the three releases under a base on its own port, so the feed's IRIs are fetchable."""
    if not NODE_CLIENT.is_dir() or shutil.which("node") is None:
        pytest.skip(skip_reason("the npm ldes-client (cd tests/js && npm ci) and node are missing"))
    port = free_port()
    with start_server("--base", f"http://127.0.0.1:{port}/", "--workers", "1", str(catalog), port=port) as url:
        yield url


def _replicate(url: str, after: str | None = None) -> list[dict]:
    args = ["node", "replicate.mjs", url + "feed"] + ([after] if after else [])
    done = subprocess.run(args, cwd=JS, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _latest(members: list[dict]) -> dict[str, dict]:
    last: dict[str, dict] = {}
    for member in members:
        key = member["isVersionOf"]
        if key not in last or member["timestamp"] > last[key]["timestamp"]:
            last[key] = member
    return last


def test_ldes_client_replicates_the_current_release(served_feed, catalog):
    members = _replicate(served_feed)
    assert len(members) == len({m["id"] for m in members})
    current = {iri for iri, m in _latest(members).items() if not m["type"].endswith("#Delete")}
    expected = set(snapshot_of_ntriples(catalog / "releases/2.0.0/catalogue.nt", served_feed, BASE))
    assert current == expected
    assert served_feed + "competency/klantgerichtheid" not in current
    assert served_feed + "competency/klantrelaties" in current


def test_ldes_client_after_t_gets_only_what_changed_since(served_feed, catalog):
    members = _replicate(served_feed, BETWEEN)
    changed = set()
    for version in ("1.1.0", "2.0.0"):
        data = json.loads((catalog / "releases" / version / "changes.json").read_text(encoding="utf-8"))
        changed |= {served_feed + c["iri"][len(BASE):] for c in data["changes"]}
    assert {m["isVersionOf"] for m in members} == changed
    assert all(m["timestamp"] > BETWEEN[:-1] for m in members)
    assert not any("/release/1.0.0/" in m["id"] for m in members)


def test_feed_and_what_changed_agree_on_what_a_deprecation_covers(client):
    """Every resource the 1.1.0 change set calls deprecated (the competency, its levels and criteria) is a
    version object in the feed that says so, with the same replacements; and nothing else is."""
    changes = json.loads(client.get("/release/1.1.0/changes.json").data)["changes"]
    expected = {c["iri"]: set(c.get("replaced_by", [])) for c in changes if c["change"] == "deprecated"}
    assert BASE + "competency/klantgerichtheid/level/2/criterion/3" in expected and len(expected) > 6
    feed = rdflib.Graph()
    number = 1
    while (response := client.get(f"/feed/1.1.0/{number}", headers={"Accept": "text/turtle"})).status_code == 200:
        feed += _graph(response)
        number += 1
    found = {}
    for member in feed.subjects(rdflib.DCTERMS.isVersionOf, None):
        if (member, rdflib.OWL.deprecated, rdflib.Literal(True)) in feed:
            assert (member, rdflib.RDF.type, AS.Update) in feed
            found[str(feed.value(member, rdflib.DCTERMS.isVersionOf))] = \
                {str(o) for o in feed.objects(member, rdflib.DCTERMS.isReplacedBy)}
    assert found == expected
