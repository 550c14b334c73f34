"""The published JSON Schemas describe the catalogue, and both schema engines agree on them."""
from __future__ import annotations

import json

import fastjsonschema
import jsonschema
import pytest
from referencing import Registry, Resource

from catalog import CATALOG_DIR
from catalogue_fixtures import BROKEN, FIXTURES, assemble, broken_cases
from ontology import loader
from ontology.schema_check import SCHEMA_DIR, fast_validator, check_document
from ontology.yamldoc import read_yaml

KINDS = {"catalog.yaml": "catalog", "levels.yaml": "levels"}


def editor_validator(kind: str):
    """Validate the way an editor would: the schema files themselves, references resolved by file name."""
    schemas = {f.name: json.loads(f.read_text(encoding="utf-8")) for f in SCHEMA_DIR.glob("*.schema.json")}
    registry = Registry().with_resources((name, Resource.from_contents(s)) for name, s in schemas.items())
    schema = schemas[f"{kind}.schema.json"]
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def kind_of(path) -> str:
    return KINDS.get(path.name, "competency")


def test_bundled_catalogue_is_valid_for_editors():
    for path in [CATALOG_DIR / "catalog.yaml", CATALOG_DIR / "levels.yaml", *CATALOG_DIR.glob("competencies/*.yaml")]:
        doc, _ = read_yaml(path, str(path))  # dates stay text, as in YAML 1.2 editors
        errors = list(editor_validator(kind_of(path)).iter_errors(doc.data))
        assert errors == [], (path, errors)


@pytest.mark.parametrize("case", broken_cases())
def test_fast_and_detailed_engines_agree_on_every_fixture_file(case):
    for path in sorted((BROKEN / case).rglob("*.yaml")):
        doc, syntax = read_yaml(path, str(path))
        if doc is None:
            continue
        kind = kind_of(path)
        detailed_ok = not list(editor_validator(kind).iter_errors(doc.data))
        try:
            fast_validator(kind)(doc.data)
            fast_ok = True
        except fastjsonschema.JsonSchemaException:  # only "invalid": a crash of the validator must fail the test
            fast_ok = False
        assert fast_ok == detailed_ok, path
        assert (check_document(doc, kind) == []) == detailed_ok


def test_parallel_loading_reports_the_same_as_serial(tmp_path, monkeypatch):
    catalog = assemble(tmp_path / "many", FIXTURES / "valid-mini", BROKEN / "many-problems")
    serial = loader.CatalogueError
    with pytest.raises(serial) as one:
        loader.load_catalogue(catalog, jobs=1)
    monkeypatch.setattr(loader, "PARALLEL_FROM", 2)
    with pytest.raises(loader.CatalogueError) as two:
        loader.load_catalogue(catalog, jobs=2)
    assert one.value.problems == two.value.problems and one.value.problems


def test_parallel_loading_builds_the_same_model(tmp_path, monkeypatch):
    catalog = assemble(tmp_path / "ok", FIXTURES / "valid-mini")
    (catalog / "competencies" / "samenvatten.yaml").write_text(
        (catalog / "competencies" / "luisteren.yaml").read_text(encoding="utf-8").replace("luisteren", "samenvatten"),
        encoding="utf-8")
    serial = loader.load_catalogue(catalog, jobs=1)
    monkeypatch.setattr(loader, "PARALLEL_FROM", 2)
    parallel = loader.load_catalogue(catalog, jobs=2)
    assert serial == parallel
    assert [c.slug for c in parallel.competencies] == ["luisteren", "samenvatten"]


def test_building_while_reading_gives_the_graph_built_after_reading(tmp_path, monkeypatch):
    from ontology.build import build_graph
    from competency_kg.compile import compile_catalogue

    catalog = assemble(tmp_path / "ok", FIXTURES / "valid-mini")
    for slug in ("samenvatten", "analyseren", "zelfsturing"):  # file order differs from slug order of the parts
        (catalog / "competencies" / f"{slug[::-1]}.yaml").write_text(
            (catalog / "competencies" / "luisteren.yaml").read_text(encoding="utf-8").replace("luisteren", slug),
            encoding="utf-8")
    monkeypatch.setattr(loader, "PARALLEL_FROM", 2)
    compiled = compile_catalogue(catalog, jobs=2)
    catalogue, streamed = compiled.catalogue, compiled.graph
    afterwards = build_graph(catalogue)
    assert [c.slug for c in catalogue.competencies] == ["analyseren", "luisteren", "samenvatten", "zelfsturing"]
    assert streamed.parts == afterwards.parts and streamed.shared == afterwards.shared
    assert streamed.sources == afterwards.sources
