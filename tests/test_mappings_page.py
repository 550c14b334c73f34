"""{base}mappings lists every mapping: HTML for people, SSSOM/TSV for tools, JSON-LD for Linked Data."""
from __future__ import annotations

import json

import pytest
import rdflib
from rdflib.compare import isomorphic

from exports.jsonld import context
from ontology.graph import to_rdflib_memory
from ontology.namespaces import OWL, RDF, SSSOM
from service.app import create_app


@pytest.fixture(scope="module")
def app():
    return create_app()


def test_html_table_names_each_mapping_and_attributes_esco(app):
    response = app.test_client().get("/mappings?lang=en", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.content_type.startswith("text/html")
    page = response.get_data(as_text=True)
    assert "handle customer complaints" in page
    assert "This service uses the ESCO classification of the European Commission." in page
    assert page.count("<tr>") - 1 == 21  # one row per curated mapping (minus the header row)
    assert '<th scope="row"><a href="/competency/klantgerichtheid?lang=en">Customer orientation</a></th>' in page
    assert "<td>competency-kg editors</td>" in page and "[&#39;" not in page  # authors as text, not a Python list
    assert 'href="/mappings.sssom.tsv"' in page


def test_sssom_tsv_twin_is_the_release_file(app, tmp_path):
    from exports.release import write_release
    site = app.extensions["ckg"]
    write_release(site.graph, tmp_path / "release")
    client = app.test_client()
    by_suffix = client.get("/mappings.sssom.tsv")
    by_accept = client.get("/mappings", headers={"Accept": "text/tab-separated-values"})
    assert by_suffix.data == by_accept.data == (tmp_path / "release" / "catalogue.sssom.tsv").read_bytes()


def test_jsonld_twin_is_exactly_the_mapping_records(app):
    document = json.loads(app.test_client().get("/mappings.jsonld").data)
    assert document["@context"] == app.extensions["ckg"].context_iri
    document["@context"] = context()["@context"]  # resolve the context locally: no network in tests
    parsed = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    graph = app.extensions["ckg"].graph
    records = {s.subject for s in graph.statements()
               if s.predicate.value == RDF + "type" and s.object.value in (OWL + "Axiom", SSSOM + "MappingSet")}
    expected = to_rdflib_memory(s for s in graph.statements() if s.subject in records)
    assert isomorphic(parsed, expected)


def test_negotiation_errors_are_explained(app):
    client = app.test_client()
    refused = client.get("/mappings", headers={"Accept": "image/png"})
    assert refused.status_code == 406 and b"text/tab-separated-values" in refused.data
    assert client.get("/mappings?format=pdf").status_code == 400
