"""SSSOM mapping sets: the curated ESCO set, the errors bad files get, the graph and the exports."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from pyoxigraph import NamedNode

from catalog import CATALOG_DIR
from conftest import skip_reason
from esco_support import esco_skills, needs_esco
from competency_kg.compile import compile_catalogue
from linking.catalogue import mappable_subjects
from ontology.problems import CatalogueError
from linking.sssom import MAPPING_PREDICATES, SEMAPV, check_subjects, read_mapping_set

FIXTURES = Path(__file__).parent / "fixtures" / "mappings"
CURATED = CATALOG_DIR / "mappings" / "esco.sssom.tsv"
BASE = "https://w3id.org/competency-kg/"
ESCO = "http://data.europa.eu/esco/"


@pytest.fixture(scope="module")
def compiled():
    return compile_catalogue(CATALOG_DIR)


@pytest.fixture(scope="module")
def built(compiled):
    return compiled.graph


def _problems(name: str, known: set[str]) -> list[str]:
    mapping_set, problems = read_mapping_set(FIXTURES / name, f"fixtures/{name}")
    if mapping_set is not None:
        problems = check_subjects(mapping_set, known)
    return [str(p) for p in problems]


EXPECTED = {
    "unknown_prefix.sssom.tsv": [
        "fixtures/unknown_prefix.sssom.tsv:9:48: object_id: unknown prefix 'ONET' in 'ONET:skill/42' — a CURIE with a prefix from curie_map, e.g. ESCO:skill/<uuid>"],
    "unknown_subject.sssom.tsv": [
        "fixtures/unknown_subject.sssom.tsv:9:1: unknown subject 'kg:competency/klantgerichtheid/level/9' (https://w3id.org/competency-kg/competency/klantgerichtheid/level/9): "
        "not a competency, competency level or criterion of this catalogue — the IRI of something the catalogue defines, e.g. kg:competency/<slug>/level/<n>/criterion/<i>"],
    "not_a_mapping_predicate.sssom.tsv": [
        "fixtures/not_a_mapping_predicate.sssom.tsv:9:32: predicate_id: 'skos:broader' is not a SKOS mapping property — one of skos:exactMatch, skos:closeMatch, skos:broadMatch, skos:narrowMatch, skos:relatedMatch"],
    "malformed_iri.sssom.tsv": [
        "fixtures/malformed_iri.sssom.tsv:9:48: object_id: malformed IRI 'ESCO:skill/not an iri' (expands to 'http://data.europa.eu/esco/skill/not an iri') — a CURIE with a prefix from curie_map, e.g. ESCO:skill/<uuid>"],
    "duplicate_row.sssom.tsv": [
        "fixtures/duplicate_row.sssom.tsv:10:1: duplicate row: same subject, predicate, object and justification as line 9 — one row per mapping"],
    "missing_column.sssom.tsv": [
        "fixtures/missing_column.sssom.tsv:7:1: required column 'mapping_justification' is missing — the columns subject_id, predicate_id, object_id, mapping_justification"],
    "missing_metadata.sssom.tsv": [
        "fixtures/missing_metadata.sssom.tsv:1:1: metadata block lacks 'license' — a line '# license: …' (required by SSSOM)"],
    "bad_values.sssom.tsv": [
        "fixtures/bad_values.sssom.tsv:8:96: mapping_justification: 'semapv:GutFeeling' is not a semapv justification — e.g. semapv:ManualMappingCuration, semapv:LexicalMatching",
        "fixtures/bad_values.sssom.tsv:8:114: confidence: '1.7' is not a number from 0 to 1 — e.g. 0.8"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_mapping_file_gets_exact_errors(name, compiled):
    assert _problems(name, mappable_subjects(compiled.catalogue)) == EXPECTED[name]


def test_every_fixture_has_expectations():
    assert sorted(p.name for p in FIXTURES.glob("*.sssom.tsv")) == sorted(EXPECTED)


def test_broken_mapping_in_catalogue_stops_the_build(tmp_path):
    copy = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.copy(FIXTURES / "unknown_subject.sssom.tsv", copy / "mappings" / "broken.sssom.tsv")
    with pytest.raises(CatalogueError) as caught:
        compile_catalogue(copy)
    assert [str(p).split(" — ")[0] for p in caught.value.problems] == [
        f"{copy}/mappings/broken.sssom.tsv:9:1: unknown subject 'kg:competency/klantgerichtheid/level/9' "
        f"({BASE}competency/klantgerichtheid/level/9): not a competency, competency level or criterion of this catalogue"]


def test_curated_set_is_complete_and_argued():
    mapping_set, problems = read_mapping_set(CURATED)
    assert problems == []
    assert mapping_set.id == BASE + "mappings/esco"
    kinds = {m.subject[len(BASE):].count("/") for m in mapping_set.mappings}
    assert kinds == {1, 3, 5}, "competency, competency-level and criterion mappings"
    for m in mapping_set.mappings:
        assert m.predicate in MAPPING_PREDICATES
        assert m.justification == SEMAPV + "ManualMappingCuration"
        assert m.authors and m.date and m.confidence is not None
        assert m.comment and len(m.comment) > 60, f"line {m.line}: say why this predicate fits"


@needs_esco
def test_every_curated_object_exists_in_esco_with_its_label():
    mapping_set, _ = read_mapping_set(CURATED)
    skills = esco_skills()
    for m in mapping_set.mappings:
        assert m.object in skills, f"line {m.line}: {m.object} is not an ESCO v1.1.1 skill"
        assert skills[m.object]["status"] == "released"
        assert m.object_label == skills[m.object]["preferredLabel"], f"line {m.line}"
    handled = {m.object for m in mapping_set.mappings if m.subject.endswith("level/1/criterion/3")}
    assert ESCO + "skill/28d715e3-3e5b-4fb6-8dd2-4be4919c8587" in handled  # handle customer complaints


def test_curated_set_passes_the_sssom_validator():
    parsers = pytest.importorskip("sssom.parsers", reason=skip_reason("the sssom toolkit is not installed (pip install -e '.[test]')"))
    validators = pytest.importorskip("sssom.validators")
    msdf = parsers.parse_sssom_table(CURATED)
    validators.validate(msdf, fail_on_error=True)
    assert len(msdf.df) == len(read_mapping_set(CURATED)[0].mappings)


def test_graph_has_links_and_filterable_records(built):
    store = built.store()
    subject = NamedNode(BASE + "competency/klantgerichtheid/level/2/criterion/2")
    frustration = NamedNode(ESCO + "skill/1d1fedcb-4995-44ac-90f5-f31a157ce512")
    assert list(store.quads_for_pattern(subject, NamedNode("http://www.w3.org/2004/02/skos/core#closeMatch"), frustration))
    rows = list(store.query("""
        PREFIX owl: <http://www.w3.org/2002/07/owl#> PREFIX sssom: <https://w3id.org/sssom/>
        PREFIX semapv: <https://w3id.org/semapv/vocab/> PREFIX pav: <http://purl.org/pav/>
        SELECT ?record ?source ?target ?confidence WHERE {
          ?set a sssom:MappingSet ; sssom:mappings ?record .
          ?record owl:annotatedSource ?source ; owl:annotatedTarget ?target ;
                  sssom:mapping_justification semapv:ManualMappingCuration ;
                  pav:authoredBy ?author ; sssom:confidence ?confidence .
          FILTER(?confidence >= 0.85)
        } ORDER BY ?source ?target"""))
    assert rows and all(float(r["confidence"].value) >= 0.85 for r in rows)
    assert all(isinstance(r["record"], NamedNode) and r["record"].value.startswith(BASE + "mappings/esco/") for r in rows)
    assert (subject, frustration) in {(r["source"], r["target"]) for r in rows}


def test_mappings_follow_a_different_base():
    base = "http://127.0.0.1:8765/"
    graph = compile_catalogue(CATALOG_DIR, base=base).graph
    from exports.sssom import write_tsv
    out = io.StringIO()
    write_tsv(graph, out)
    text = out.getvalue()
    assert f"mapping_set_id: {base}mappings/esco" in text and f"kg: {base}" in text
    assert "w3id.org" not in "".join(t.subject.value for t in graph.triples())


def test_exports_are_valid_sssom(built, tmp_path):
    parsers = pytest.importorskip("sssom.parsers", reason=skip_reason("the sssom toolkit is not installed (pip install -e '.[test]')"))
    validators = pytest.importorskip("sssom.validators")
    from exports.sssom import write_json, write_tsv
    tsv, js = tmp_path / "m.sssom.tsv", tmp_path / "m.sssom.json"
    with tsv.open("w", encoding="utf-8") as out:
        rows = write_tsv(built, out)
    with js.open("w", encoding="utf-8") as out:
        write_json(built, out)
    validators.validate(parsers.parse_sssom_table(tsv), fail_on_error=True)
    from_json = parsers.parse_sssom_json(js)
    assert len(from_json.df) == rows == 21
    original, _ = read_mapping_set(CURATED)
    exported, problems = read_mapping_set(tsv)
    assert problems == []
    assert sorted(m.key for m in exported.mappings) == sorted(m.key for m in original.mappings)
    assert {m.key: (m.confidence, m.comment) for m in exported.mappings} == {m.key: (m.confidence, m.comment) for m in original.mappings}
    assert json.loads(js.read_text())["mapping_set_id"] == BASE + "mappings/esco"


def test_release_lists_the_sssom_files(built, tmp_path):
    from exports.release import write_release
    files = {f.name: f for f in write_release(built, tmp_path / "dist")}
    assert files["catalogue.sssom.tsv"].rows == files["catalogue.sssom.json"].rows == 21
