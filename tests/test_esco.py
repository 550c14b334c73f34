"""ESCO import (CSV downloads and RDF dump), loading it beside the catalogue, and one query over both."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Store

from catalog import CATALOG_DIR
from ckg.cli import cli
from esco_support import esco_skills, full_esco  # noqa: F401 - full_esco is a fixture
from competency_kg.compile import compile_catalogue
from linking.esco import (ATTRIBUTION, ESCO_GRAPH, EscoImportError, check_mapped_concepts, import_esco,
                           load_esco_into)
from linking.sssom import read_mapping_set

FIXTURE = Path(__file__).parent / "fixtures" / "esco" / "esco-mini-v1.1.1.ttl"
SKILL = "http://data.europa.eu/esco/skill/"
MODEL = "http://data.europa.eu/esco/model#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
GRAPH = NamedNode(ESCO_GRAPH)
COMPLAINTS = NamedNode(SKILL + "28d715e3-3e5b-4fb6-8dd2-4be4919c8587")
FRUSTRATION = NamedNode(SKILL + "1d1fedcb-4995-44ac-90f5-f31a157ce512")
OCCUPATIONS_NEEDED_BY_LEVEL = """
PREFIX ckg: <https://w3id.org/competency-kg/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX esco: <http://data.europa.eu/esco/model#>
SELECT ?occupation ?occupationLabel (COUNT(DISTINCT ?skill) AS ?skills) WHERE {
  ?level ckg:rank ?rank ; ckg:hasCriterion ?criterion .
  ?criterion skos:exactMatch|skos:closeMatch|skos:broadMatch|skos:narrowMatch|skos:relatedMatch ?skill .
  GRAPH <%s> {
    ?occupation esco:hasEssentialSkill|esco:hasOptionalSkill ?skill ; skos:prefLabel ?occupationLabel .
  }
} GROUP BY ?occupation ?occupationLabel ORDER BY DESC(?skills) ?occupationLabel
""" % ESCO_GRAPH


def _store(esco_file: Path) -> Store:
    """ESCO's named graph plus the catalogue in the default graph, as the service holds them."""
    store = Store()
    load_esco_into(store, esco_file)
    graph = compile_catalogue(CATALOG_DIR).graph
    store.bulk_extend(Quad(t.subject, t.predicate, t.object) for t in graph.triples())
    return store


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mini") / "esco.trig"
    import_esco([FIXTURE], out)
    return out


def test_rdf_dump_becomes_plain_skos_in_its_own_graph(mini):
    store = Store()
    load_esco_into(store, mini)
    quads = list(store)
    assert quads and all(q.graph_name == GRAPH for q in quads)
    assert not any(isinstance(t, BlankNode) for q in quads for t in (q.subject, q.object))
    labels = {q.object for q in store.quads_for_pattern(COMPLAINTS, NamedNode(SKOS + "prefLabel"), None)}
    assert labels == {Literal("handle customer complaints", language="en")}, "French labels are dropped"
    descriptions = [q.object for q in store.quads_for_pattern(COMPLAINTS, NamedNode("http://purl.org/dc/terms/description"), None)]
    assert [(d.value[:22], d.language) for d in descriptions] == [("Administer complaints ", "en")]
    assert not any("skos-xl" in q.predicate.value or "skos-xl" in q.object.value for q in quads)
    rights = [q.object.value for q in store.quads_for_pattern(GRAPH, NamedNode("http://purl.org/dc/terms/rights"), None)]
    assert rights == [ATTRIBUTION]
    assert mini.read_text(encoding="utf-8").startswith(f"# {ATTRIBUTION}\n")


def _zip(path: Path, files: dict[str, list[dict[str, str]]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, rows in files.items():
            text = io.StringIO()
            writer = csv.DictWriter(text, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
            archive.writestr(name, text.getvalue())
    return path


def test_csv_download_shape_is_imported(tmp_path):
    skill = {"conceptType": "KnowledgeSkillCompetence", "conceptUri": COMPLAINTS.value, "skillType": "skill/competence",
             "reuseLevel": "cross-sector", "preferredLabel": "handle customer complaints",
             "altLabels": "handle customers' complaints\naddress guest complaints", "hiddenLabels": "", "status": "released",
             "modifiedDate": "2016-12-20T17:43:43Z", "scopeNote": "", "definition": "",
             "inScheme": "http://data.europa.eu/esco/concept-scheme/skills,\nhttp://data.europa.eu/esco/concept-scheme/member-skills",
             "description": "Administer complaints and negative feedback from customers."}
    occupation = {"conceptType": "Occupation", "conceptUri": "http://data.europa.eu/esco/occupation/x", "iscoGroup": "4222",
                  "preferredLabel": "contact centre agent", "altLabels": "", "hiddenLabels": "", "status": "released",
                  "modifiedDate": "", "regulatedProfessionNote": "", "scopeNote": "", "definition": "", "inScheme": "",
                  "description": "", "code": "4222.1"}
    relation = {"occupationUri": occupation["conceptUri"], "relationType": "essential", "skillType": "skill/competence",
                "skillUri": COMPLAINTS.value}
    broader = {"conceptType": "KnowledgeSkillCompetence", "conceptUri": COMPLAINTS.value, "broaderType": "SkillGroup",
               "broaderUri": SKILL + "S1.2"}
    classification = _zip(tmp_path / "esco-v9.9-classification-en-csv.zip",
                          {"skills_en.csv": [skill], "occupations_en.csv": [occupation]})
    relations = _zip(tmp_path / "esco-v9.9-relations-csv.zip",
                     {"occupationSkillRelations.csv": [relation], "broaderRelationsSkillPillar.csv": [broader]})
    messages: list[str] = []
    stats = import_esco([classification, relations], tmp_path / "out.nq", progress=messages.append)
    assert stats.version == "9.9" and stats.counts["skills"] == 1 and stats.counts["occupation-skill relations"] == 1
    assert "reading skills_en.csv" in messages
    store = Store()
    load_esco_into(store, tmp_path / "out.nq")

    def objects(s, p):
        return sorted(str(q.object) for q in store.quads_for_pattern(s, NamedNode(p), None, GRAPH))
    assert objects(COMPLAINTS, SKOS + "altLabel") == ['"address guest complaints"@en', '"handle customers\' complaints"@en']
    assert objects(COMPLAINTS, MODEL + "skillReuseLevel") == ["<http://data.europa.eu/esco/skill-reuse-level/cross-sector>"]
    assert objects(COMPLAINTS, MODEL + "skillType") == ["<http://data.europa.eu/esco/skill-type/skill>"]
    assert len(objects(COMPLAINTS, SKOS + "inScheme")) == 2
    assert objects(COMPLAINTS, SKOS + "broader") == [f"<{SKILL}S1.2>"]
    assert objects(NamedNode(occupation["conceptUri"]), MODEL + "hasEssentialSkill") == [f"<{COMPLAINTS.value}>"]


def test_not_esco_is_refused_before_writing(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(EscoImportError, match="no ESCO data found"):
        import_esco([tmp_path / "notes.txt"], tmp_path / "out.nq")
    assert not (tmp_path / "out.nq").exists()
    result = CliRunner().invoke(cli, ["esco", "import", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "out.txt")])
    assert result.exit_code == 1 and "write ESCO as N-Quads (.nq) or TriG (.trig)" in result.output


def test_federated_question_on_the_fixture(mini):
    rows = list(_store(mini).query(OCCUPATIONS_NEEDED_BY_LEVEL))
    assert [(r["occupationLabel"].value, int(r["skills"].value)) for r in rows] == [("technical director", 2)]


def test_mapped_concepts_checked_against_esco(mini, tmp_path):
    store = Store()
    load_esco_into(store, mini)
    text = (Path(__file__).parent / "fixtures" / "mappings" / "unknown_prefix.sssom.tsv").read_text()
    good = text.replace("ONET:skill/42", "ESCO:skill/00000000-0000-0000-0000-000000000000")
    (tmp_path / "m.sssom.tsv").write_text(good)
    mapping_set, problems = read_mapping_set(tmp_path / "m.sssom.tsv", "m.sssom.tsv")
    assert problems == []
    assert [str(p).split(" — ")[0] for p in check_mapped_concepts([mapping_set], store)] == [
        "m.sssom.tsv:9:1: object ESCO:skill/00000000-0000-0000-0000-000000000000 is obsolete in ESCO"]
    curated, _ = read_mapping_set(CATALOG_DIR / "mappings" / "esco.sssom.tsv", "esco.sssom.tsv")
    missing = check_mapped_concepts([curated], store)
    assert missing and all("does not exist in the loaded ESCO" in p.message for p in missing)
    assert not any(p.line == 9 for p in missing), "line 9 maps to a skill the fixture has"


def test_whole_english_esco_is_imported(full_esco):
    path, stats = full_esco
    assert (stats.counts["skills"], stats.counts["occupations"], stats.counts["occupation-skill relations"]) == (13_896, 3_007, 123_855)
    store = Store()
    load_esco_into(store, path)
    customer = NamedNode(SKILL + "5b0f2198-7246-4256-a902-4d9ce1260c80")
    label = [q.object.value for q in store.quads_for_pattern(customer, NamedNode(SKOS + "prefLabel"), None, GRAPH)]
    assert label == [esco_skills()[customer.value]["preferredLabel"]] == ["ensure customer orientation"]
    assert list(store.quads_for_pattern(customer, NamedNode(SKOS + "broader"), None, GRAPH))
    reuse = [q.object.value for q in store.quads_for_pattern(customer, NamedNode(MODEL + "skillReuseLevel"), None, GRAPH)]
    assert reuse == ["http://data.europa.eu/esco/skill-reuse-level/transversal"]


def test_curated_mappings_all_resolve_in_full_esco(full_esco):
    store = Store()
    load_esco_into(store, full_esco[0])
    curated, _ = read_mapping_set(CATALOG_DIR / "mappings" / "esco.sssom.tsv")
    assert check_mapped_concepts([curated], store) == []
    result = CliRunner().invoke(cli, ["link", "check", "--esco", str(full_esco[0])])
    assert result.exit_code == 0, result.output
    assert "every ESCO object exists and is released" in result.output


def test_federated_question_on_full_esco(full_esco):
    """Which occupations need skills that our level-3 criteria map to? One query, two graphs."""
    query = OCCUPATIONS_NEEDED_BY_LEVEL.replace("?level ckg:rank ?rank", "?level ckg:rank 3")
    rows = list(_store(full_esco[0]).query(query))
    labels = [r["occupationLabel"].value for r in rows]
    assert len(rows) > 50
    assert labels[0] == "travel agent" and int(rows[0]["skills"].value) == 3
    assert "client relations manager" in labels


def test_federated_question_through_our_sparql_endpoint(mini):
    """The same question asked over HTTP: the service loads $CKG_ESCO as a named graph beside the catalogue."""
    import json
    import urllib.parse
    import urllib.request

    from conftest import start_server

    with start_server("--workers", "1", env={"CKG_ESCO": str(mini)}) as url:
        request = urllib.request.Request(url + "sparql", data=urllib.parse.urlencode({"query": OCCUPATIONS_NEEDED_BY_LEVEL}).encode(),
                                         headers={"Accept": "application/sparql-results+json",
                                                  "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    rows = [(b["occupationLabel"]["value"], int(b["skills"]["value"])) for b in answer["results"]["bindings"]]
    assert rows == [("technical director", 2)]


def test_zipped_rdf_dump_and_relations_alone(tmp_path):
    with zipfile.ZipFile(tmp_path / "esco-v1.1.1-ttl.zip", "w") as archive:
        archive.write(FIXTURE, "esco-v1.1.1.ttl")
    stats = import_esco([tmp_path / "esco-v1.1.1-ttl.zip"], tmp_path / "out.nq.gz")
    assert stats.counts["occupations"] == 1 and stats.version == "1.1.1"
    store = Store()
    load_esco_into(store, tmp_path / "out.nq.gz")
    assert list(store.quads_for_pattern(COMPLAINTS, NamedNode(SKOS + "prefLabel"), None, GRAPH))
    relations = _zip(tmp_path / "relations.zip", {"occupationSkillRelations.csv": [
        {"occupationUri": "http://data.europa.eu/esco/occupation/x", "relationType": "essential",
         "skillType": "skill/competence", "skillUri": COMPLAINTS.value}]})
    with pytest.raises(EscoImportError, match="no ESCO data found"):
        import_esco([relations], tmp_path / "relations-only.nq", languages=("en",))
