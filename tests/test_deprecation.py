"""Deprecation: in the YAML (competency, competency level, criterion, generic level), in the graph
(owl:deprecated, dct:isReplacedBy / dct:replaces), out of listings and the hierarchy by default,
and still dereferenced with its replacements shown."""
from __future__ import annotations

import json

import pytest
import rdflib
from click.testing import CliRunner

from ckg.cli import cli
from competency_kg.compile import compile_catalogue
from ontology.problems import CatalogueError
from service import create_app
from service.config import ServiceConfig

from release_support import copy_bundled, make_second_release

BASE = "https://w3id.org/competency-kg/"
OWL = rdflib.OWL
DCT = rdflib.DCTERMS
OLD = rdflib.URIRef(BASE + "competency/klantgerichtheid")
NEW = [rdflib.URIRef(BASE + "competency/klantbewustzijn"), rdflib.URIRef(BASE + "competency/klantrelaties")]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return make_second_release(copy_bundled(tmp_path_factory.mktemp("dep") / "catalog", with_releases=False))


@pytest.fixture(scope="module")
def client(catalog):
    return create_app(ServiceConfig(catalog_dir=str(catalog))).test_client()




def _turtle(client, path: str) -> rdflib.Graph:
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200, response.data
    return rdflib.Graph().parse(data=response.data, format="turtle")


def test_a_split_competency_says_so_both_ways(client):
    graph = _turtle(client, "/competency/klantgerichtheid")
    assert (OLD, OWL.deprecated, rdflib.Literal(True)) in graph
    assert set(graph.objects(OLD, DCT.isReplacedBy)) == set(NEW)
    for new in NEW:
        assert (new, DCT.replaces, OLD) in _turtle(client, "/" + new[len(BASE):])


def test_listings_leave_deprecated_out_unless_asked(client):
    default = json.loads(client.get("/competency/?format=jsonld").data)
    assert {m["id"] for m in default["member"]} == set(map(str, NEW))
    everything = json.loads(client.get("/competency/?format=jsonld&deprecated=include").data)
    assert str(OLD) in {m["id"] for m in everything["member"]}
    assert client.get("/competency/?deprecated=maybe").status_code == 400


def test_deprecated_competency_leaves_the_cluster_hierarchy(client):
    graph = _turtle(client, "/cluster/ondernemen")
    members = set(graph.subjects(rdflib.SKOS.broader, rdflib.URIRef(BASE + "cluster/ondernemen")))
    assert members == set(NEW)
    assert "Klantgerichtheid" not in client.get("/cluster/ondernemen.html").data.decode()


def test_deprecated_page_shows_its_replacements_in_each_language(client):
    page = client.get("/competency/klantgerichtheid.html?lang=en").data.decode()
    assert "Deprecated." in page and "Split into customer awareness" in page
    assert 'rel="successor-version" href="/competency/klantbewustzijn?lang=en"' in page
    assert 'rel="successor-version" href="/competency/klantrelaties?lang=en"' in page
    assert "Vervallen." in client.get("/competency/klantgerichtheid.html?lang=nl").data.decode()
    assert 'rel="predecessor-version" href="/competency/klantgerichtheid' in client.get("/competency/klantrelaties.html").data.decode()


def _write(catalog, name: str, text: str) -> None:
    (catalog / "competencies" / name).write_text(text, encoding="utf-8")


def test_criterion_level_and_generic_level_can_be_deprecated(tmp_path):
    catalog = make_second_release(copy_bundled(tmp_path / "c", with_releases=False))
    path = catalog / "competencies" / "klantbewustzijn.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "  - level: 2\n", "  - level: 2\n    deprecated: {replaced_by: [competency/klantrelaties/level/2]}\n"
        "    deprecated_criteria:\n      - position: 1\n        replaced_by: [competency/klantrelaties/level/2/criterion/1]\n")
    path.write_text(text, encoding="utf-8")
    levels = catalog / "levels.yaml"
    levels.write_text(levels.read_text(encoding="utf-8").replace("  - rank: 5\n", "  - rank: 5\n    deprecated: {replaced_by: [level/4]}\n"),
                      encoding="utf-8")
    triples = {(t.subject.value, t.predicate.value, t.object.value) for t in compile_catalogue(catalog).graph.triples()}
    for old, new in (("competency/klantbewustzijn/level/2", "competency/klantrelaties/level/2"),
                     ("competency/klantbewustzijn/level/2/criterion/1", "competency/klantrelaties/level/2/criterion/1"),
                     ("level/5", "level/4")):
        assert (BASE + old, str(OWL.deprecated), "true") in triples
        assert (BASE + old, str(DCT.isReplacedBy), BASE + new) in triples
        assert (BASE + new, str(DCT.replaces), BASE + old) in triples


def test_replacements_and_positions_must_exist(tmp_path):
    catalog = make_second_release(copy_bundled(tmp_path / "c", with_releases=False))
    path = catalog / "competencies" / "klantgerichtheid.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("competency/klantrelaties]", "competency/klantrelatie]"),
                    encoding="utf-8")
    other = catalog / "competencies" / "klantbewustzijn.yaml"
    other.write_text(other.read_text(encoding="utf-8").replace(
        "  - level: 3\n", "  - level: 3\n    deprecated_criteria: [{position: 4}]\n"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(catalog)])
    assert result.exit_code == 1
    assert "klantgerichtheid.yaml:" in result.output and "unknown replacement 'competency/klantrelatie'" in result.output
    assert "klantbewustzijn.yaml:" in result.output and "level 3 has no criterion 4 to deprecate — a position from 1 to 1" in result.output
    with pytest.raises(CatalogueError):
        compile_catalogue(catalog)


def test_case_package_says_replaced_by(catalog):
    """CASE 1.1: a deprecated item has a replacedBy association to each replacement, valid against the schema."""
    from case_support import errors
    from exports import case

    graph = compile_catalogue(catalog).graph
    framework = case.CaseFramework(graph)
    for language in case.LANGUAGES:
        package = framework.package(language)
        assert errors(package) == []
        replaced = [a for a in package["CFAssociations"] if a["associationType"] == "replacedBy"]
        # the competency, and (deprecated with it) each of its levels and criteria
        owned = {s.subject.value for s in graph.statements() if s.subject.value.startswith(str(OLD))
                 and s.predicate.value == str(OWL.deprecated)}
        assert {a["originNodeURI"]["identifier"] for a in replaced} == {case.item_id(iri, language) for iri in owned}
        assert {a["destinationNodeURI"]["identifier"] for a in replaced
                if a["originNodeURI"]["identifier"] == case.item_id(str(OLD), language)} == \
            {case.item_id(str(n), language) for n in NEW}
        for part, sequence in framework.competency_sequences():
            _, associations, _ = framework.competency_objects(part, language, sequence)
            assert sorted(framework.association_ids(part, language)) == sorted(a["identifier"] for a in associations)


def test_listing_page_offers_the_deprecated_too(client):
    page = client.get("/competency/?lang=en", headers={"Accept": "text/html"}).data.decode()
    assert 'href="?deprecated=include&amp;lang=en">Show deprecated too</a>' in page
    assert "/competency/klantgerichtheid?" not in page
    everything = client.get("/competency/?deprecated=include&lang=en", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/competency/klantgerichtheid?lang=en"' in everything


def test_paging_keeps_the_deprecated_option(tmp_path):
    catalog = make_second_release(copy_bundled(tmp_path / "c", with_releases=False))
    client = create_app(ServiceConfig(catalog_dir=str(catalog), page_size=2)).test_client()
    first = json.loads(client.get("/competency/?format=jsonld&deprecated=include").data)
    assert first["totalItems"] == 3
    assert first["view"]["id"] == BASE + "competency/?deprecated=include&page=1"
    assert first["view"]["next"] == BASE + "competency/?deprecated=include&page=2"
    second = json.loads(client.get("/competency/?format=jsonld&deprecated=include&page=2").data)
    assert len(second["member"]) == 1 and second["view"]["previous"] == BASE + "competency/?deprecated=include&page=1"
    plain = json.loads(client.get("/competency/?format=jsonld").data)
    assert plain["totalItems"] == 2 and "next" not in plain["view"] and plain["view"]["id"] == BASE + "competency/?page=1"


def test_a_deprecated_competencys_levels_and_criteria_are_deprecated_with_it(client):
    """Levels by the replacements' level of the same rank; criteria by that level too (see README)."""
    graph = _turtle(client, "/competency/klantgerichtheid")
    levels = set(graph.objects(OLD, rdflib.URIRef(BASE + "def#hasLevel")))
    assert len(levels) == 5
    for level in levels:
        rank = str(level).rsplit("/", 1)[1]
        replacements = {rdflib.URIRef(f"{new}/level/{rank}") for new in NEW}
        level_graph = _turtle(client, "/" + level[len(BASE):])
        assert (level, OWL.deprecated, rdflib.Literal(True)) in level_graph
        assert set(level_graph.objects(level, DCT.isReplacedBy)) == replacements
        criteria = set(level_graph.objects(level, rdflib.URIRef(BASE + "def#hasCriterion")))
        assert criteria
        for criterion in criteria:
            criterion_graph = _turtle(client, "/" + criterion[len(BASE):])
            assert (criterion, OWL.deprecated, rdflib.Literal(True)) in criterion_graph
            assert set(criterion_graph.objects(criterion, DCT.isReplacedBy)) == replacements
    # the replacements' own levels are not deprecated
    assert (rdflib.URIRef(f"{NEW[0]}/level/2"), OWL.deprecated, None) not in _turtle(client, f"/{NEW[0][len(BASE):]}/level/2")


def test_a_deprecated_competency_names_its_former_cluster_outside_the_hierarchy(client):
    graph = _turtle(client, "/competency/klantgerichtheid")
    assert list(graph.objects(OLD, rdflib.SKOS.broader)) == []
    assert list(graph.objects(OLD, rdflib.URIRef(BASE + "def#formerCluster"))) == [rdflib.URIRef(BASE + "cluster/ondernemen")]
    page = client.get("/competency/klantgerichtheid.html").data.decode()
    assert 'href="/cluster/ondernemen' in page  # its page still leads to the cluster it was in
    # and the live ones are still under their cluster
    assert list(_turtle(client, "/" + NEW[0][len(BASE):]).objects(NEW[0], rdflib.SKOS.broader)) == \
        [rdflib.URIRef(BASE + "cluster/ondernemen")]
