"""The Python front door, used the way a researcher's notebook would use it.

Expectations come from the YAML read here with PyYAML and from the ESCO fixture's own text, not
from the code under test, so a wrong graph, a wrong order or a broken join fails these tests.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
import yaml
from oxrdflib import OxigraphStore
from rdflib.namespace import SKOS

import competency_kg
from catalog import CATALOG_DIR
from linking.esco import EscoImportError

ESCO_FIXTURE = Path(__file__).parent / "fixtures" / "esco" / "esco-mini-v1.1.1.ttl"
CKG = rdflib.Namespace("https://w3id.org/competency-kg/def#")
FRUSTRATION = rdflib.URIRef("http://data.europa.eu/esco/skill/1d1fedcb-4995-44ac-90f5-f31a157ce512")
COMPLAINTS = rdflib.URIRef("http://data.europa.eu/esco/skill/28d715e3-3e5b-4fb6-8dd2-4be4919c8587")

CRITERIA_IN_ORDER = """
PREFIX ckg: <https://w3id.org/competency-kg/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?rank ?position ?statement WHERE {
  ?competency a ckg:Competency ; skos:prefLabel "Klantgerichtheid"@nl ; ckg:hasLevel ?level .
  ?level ckg:rank ?rank ; ckg:hasCriterion ?criterion .
  ?criterion ckg:position ?position ; ckg:statement ?statement .
  FILTER(lang(?statement) = "nl")
} ORDER BY ?rank ?position
"""


def _yaml_criteria() -> list[str]:
    """The 15 Dutch criteria of Klantgerichtheid as the YAML lists them, level by level."""
    doc = yaml.safe_load((CATALOG_DIR / "competencies" / "klantgerichtheid.yaml").read_text(encoding="utf-8"))
    return [c["nl"] for level in sorted(doc["levels"], key=lambda lv: lv["level"]) for c in level["criteria"]]


@pytest.fixture(scope="module")
def kg():
    return competency_kg.load(esco=ESCO_FIXTURE)


def test_graph_is_an_rdflib_graph_on_oxigraph(kg):
    assert isinstance(kg.graph, rdflib.Graph) and isinstance(kg.graph.store, OxigraphStore)
    competencies = list(kg.graph.subjects(rdflib.RDF.type, CKG.Competency))
    assert competencies == [rdflib.URIRef(kg.base + "competency/klantgerichtheid")]
    assert kg.graph.value(competencies[0], SKOS.prefLabel) is not None


def test_sparql_lists_the_15_criteria_in_order(kg):
    rows = list(kg.graph.query(CRITERIA_IN_ORDER))
    assert [str(r.statement) for r in rows] == _yaml_criteria()
    assert len(rows) == 15
    assert [(int(r.rank), int(r.position)) for r in rows] == [(rank, pos) for rank in range(1, 6) for pos in range(1, 4)]


def test_the_model_walks_the_same_criteria_in_order(kg):
    (competency,) = kg.catalogue.competencies
    assert [c.statement["nl"] for level in competency.levels for c in level.criteria] == _yaml_criteria()


def test_sparql_joins_the_catalogue_with_esco(kg):
    rows = kg.graph.query("""
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?criterion ?label WHERE {
          ?criterion skos:closeMatch|skos:broadMatch|skos:relatedMatch ?skill .
          GRAPH <%s> { ?skill skos:prefLabel ?label }
        } ORDER BY ?criterion""" % competency_kg.ESCO_GRAPH)
    criterion = kg.base + "competency/klantgerichtheid/level/{}/criterion/{}"
    assert [(str(r.criterion), str(r.label)) for r in rows] == [
        (criterion.format(1, 3), "handle customer complaints"), (criterion.format(2, 2), "manage frustration")]


def test_mapping_sets_agree_with_the_graph_and_esco(kg):
    mapped = {(m.subject, m.object) for s in kg.mapping_sets for m in s.mappings}
    in_esco = {(s, o) for s, o in mapped if (rdflib.URIRef(o), SKOS.prefLabel, None) in kg.esco}
    assert in_esco == {(kg.base + "competency/klantgerichtheid/level/1/criterion/3", str(COMPLAINTS)),
                       (kg.base + "competency/klantgerichtheid/level/2/criterion/2", str(FRUSTRATION))}
    for subject, obj in mapped:  # every row of the sets is a link in the graph
        assert any(kg.graph.triples((rdflib.URIRef(subject), None, rdflib.URIRef(obj))))


def test_esco_stays_out_of_the_catalogue_graph(kg):
    assert len(kg.esco) > 0
    assert (FRUSTRATION, rdflib.RDF.type, None) in kg.esco
    assert (FRUSTRATION, rdflib.RDF.type, None) not in kg.graph


def test_load_esco_alone_and_its_errors(tmp_path):
    esco = competency_kg.load_esco(ESCO_FIXTURE)
    assert esco.value(COMPLAINTS, SKOS.prefLabel) == rdflib.Literal("handle customer complaints", lang="en")
    (tmp_path / "notes.txt").write_text("not ESCO")
    with pytest.raises(EscoImportError, match="no ESCO data found"):
        competency_kg.load_esco(tmp_path / "notes.txt")


def test_load_under_another_base():
    kg = competency_kg.load(base="http://127.0.0.1:8000/")
    assert kg.base == "http://127.0.0.1:8000/" and kg.esco is None
    criteria = set(kg.graph.subjects(rdflib.RDF.type, CKG.BehaviouralCriterion))
    assert len(criteria) == 15 and all(str(c).startswith("http://127.0.0.1:8000/competency/") for c in criteria)
    assert all(m.subject.startswith("http://127.0.0.1:8000/") for s in kg.mapping_sets for m in s.mappings)
