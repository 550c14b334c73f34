"""The CASE 1.1 CFPackage (``catalogue.case.json``): valid against 1EdTech's schema, faithful, stable."""
from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from case_support import SCHEMA_FILE, SHARED_SCHEMA_FILE, errors, uri_errors, validator
from catalog import CATALOG_DIR
from ckg.cli import cli
from exports import case
from competency_kg.compile import compile_catalogue

SEED = yaml.safe_load((Path(CATALOG_DIR) / "competencies" / "klantgerichtheid.yaml").read_text(encoding="utf-8"))
CATALOG = yaml.safe_load((Path(CATALOG_DIR) / "catalog.yaml").read_text(encoding="utf-8"))
MAPPING_ROWS = [line.split("\t") for line in (Path(CATALOG_DIR) / "mappings" / "esco.sssom.tsv").read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#")][1:]


def seed_criteria(language: str) -> list[tuple[int, int, str]]:
    return [(level["level"], position, text[language]) for level in SEED["levels"]
            for position, text in enumerate(level["criteria"], start=1)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("case") / "dist"
    result = CliRunner().invoke(cli, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module", params=["nl", "en"])
def package(request, exported) -> dict:
    return json.loads((exported / f"catalogue.{case.FILE_SUFFIXES[request.param]}").read_bytes())


@pytest.fixture(scope="module")
def source(exported) -> dict:
    return json.loads((exported / "catalogue.case.json").read_bytes())


@pytest.fixture(scope="module")
def translation(exported) -> dict:
    return json.loads((exported / "catalogue.case.en.json").read_bytes())


def test_the_vendored_schema_is_the_official_copy():
    if not SHARED_SCHEMA_FILE.exists():
        pytest.skip("no ../shared/case beside the repository to compare with")
    assert SCHEMA_FILE.read_bytes() == SHARED_SCHEMA_FILE.read_bytes()


def test_each_package_is_valid_against_the_official_schema_with_formats(package):
    assert errors(package) == []
    assert uri_errors(package) == []


@pytest.mark.parametrize("path, broken, fmt", [
    (("CFDocument", "identifier"), "not-a-uuid", "uuid"),
    (("CFItems", 0, "identifier"), "17d42b26-0160-5aa2-b78a", "uuid"),
    (("CFDocument", "lastChangeDateTime"), "2026-11-27 noon", "date-time"),
    (("CFAssociations", 0, "lastChangeDateTime"), "2026-13-27T00:00:00Z", "date-time"),
    (("CFDocument", "statusStartDate"), "2026-02-30", "date"),
])
def test_each_format_check_bites(source, path, broken, fmt):
    """A format the validator silently skipped would let these through: each must be reported."""
    damaged = copy.deepcopy(source)
    target = damaged
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = broken
    reported = [e for e in validator().iter_errors(damaged) if e.validator == "format"]
    assert [e.instance for e in reported] == [broken], f"{fmt} not checked"


def test_uri_check_bites(source):
    damaged = copy.deepcopy(source)
    damaged["CFItems"][3]["uri"] = "ims/case/v1p1/CFItems/relative only"
    assert uri_errors(damaged) == ["ims/case/v1p1/CFItems/relative only"]


def test_two_builds_give_the_same_bytes_and_identifiers(exported, tmp_path):
    again = tmp_path / "again"
    assert CliRunner().invoke(cli, ["export", "--out", str(again)]).exit_code == 0
    for suffix in case.FILE_SUFFIXES.values():
        assert (again / f"catalogue.{suffix}").read_bytes() == (exported / f"catalogue.{suffix}").read_bytes()


def test_identifiers_are_uuid5_of_the_linked_data_iri(package):
    language = package["CFDocument"]["language"]
    for item in package["CFItems"]:
        iri = item["extensions"]["linkedDataIRI"]
        suffix = "" if language == "nl" else f"?lang={language}"
        assert item["identifier"] == str(uuid.uuid5(uuid.NAMESPACE_URL, iri + suffix))
        assert item["uri"] == f"{CATALOG['base']}ims/case/v1p1/CFItems/{item['identifier']}"
    identifiers = [o["identifier"] for key in ("CFItems", "CFAssociations", "CFRubrics") for o in package[key]]
    assert len(identifiers) == len(set(identifiers))


def _children(package: dict, parent_id: str) -> list[dict]:
    by_id = {item["identifier"]: item for item in package["CFItems"]}
    links = sorted((a for a in package["CFAssociations"] if a["associationType"] == "isChildOf"
                    and a["destinationNodeURI"]["identifier"] == parent_id), key=lambda a: a["sequenceNumber"])
    return [by_id[a["originNodeURI"]["identifier"]] for a in links]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_fifteen_criteria_word_for_word_in_order_under_their_levels(exported, language):
    package = json.loads((exported / f"catalogue.{case.FILE_SUFFIXES[language]}").read_bytes())
    document = package["CFDocument"]["identifier"]
    [cluster] = [i for i in _children(package, document) if i["humanCodingScheme"] == "ondernemen"]
    [competency] = _children(package, cluster["identifier"])
    assert competency.get("abbreviatedStatement", competency["fullStatement"]) == SEED["name"][language]
    levels = _children(package, competency["identifier"])
    assert [level["listEnumeration"] for level in levels] == ["1", "2", "3", "4", "5"]
    found = [(int(level["listEnumeration"]), int(c["listEnumeration"]), c["fullStatement"])
             for level in levels for c in _children(package, level["identifier"])]
    assert found == seed_criteria(language)
    assert {c["CFItemType"] for level in levels for c in _children(package, level["identifier"])} == \
        {"Gedragscriterium" if language == "nl" else "Behavioural criterion"}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_rubric_is_the_seed_table(exported, language):
    package = json.loads((exported / f"catalogue.{case.FILE_SUFFIXES[language]}").read_bytes())
    [rubric] = package["CFRubrics"]
    assert rubric["title"] == SEED["name"][language]
    [row] = rubric["CFRubricCriteria"]
    levels_yaml = yaml.safe_load((Path(CATALOG_DIR) / "levels.yaml").read_text(encoding="utf-8"))["levels"]
    assert [(lv["position"], lv["score"], lv["quality"]) for lv in row["CFRubricCriterionLevels"]] == \
        [(lv["rank"], lv["rank"], lv["name"][language]) for lv in levels_yaml]
    in_descriptions = [(lv["position"], i, line) for lv in row["CFRubricCriterionLevels"]
                       for i, line in enumerate(lv["description"].split("\n"), start=1)]
    assert in_descriptions == seed_criteria(language)
    by_id = {item["identifier"]: item for item in package["CFItems"]}
    linked = [(lv["position"], c["position"], by_id[c["CFItemURI"]["identifier"]]["fullStatement"])
              for lv in row["CFRubricCriterionLevels"] for c in lv["extensions"][0]["criteria"]]
    assert linked == seed_criteria(language)


def test_english_is_a_translated_document_never_mixed(source, translation):
    assert (source["CFDocument"]["language"], translation["CFDocument"]["language"]) == ("nl", "en")
    assert translation["CFDocument"]["title"] == CATALOG["title"]["en"]
    dutch = {item["extensions"]["linkedDataIRI"]: item for item in source["CFItems"]}
    translated = {a["originNodeURI"]["identifier"]: a["destinationNodeURI"]["identifier"]
                  for a in translation["CFAssociations"] if a["associationType"] == "isTranslationOf"}
    assert translated[translation["CFDocument"]["identifier"]] == source["CFDocument"]["identifier"]
    for item in translation["CFItems"]:
        original = dutch[item["extensions"]["linkedDataIRI"]]
        assert translated[item["identifier"]] == original["identifier"]
        assert item["language"] == "en" and item["fullStatement"] != original["fullStatement"]
    dutch_texts = {i["fullStatement"] for i in source["CFItems"]}
    assert not any(text in item["fullStatement"] for item in translation["CFItems"] for text in dutch_texts
                   if len(text) > 25)


def test_esco_mappings_are_associations_keeping_predicate_and_justification(package):
    subject_of = {item["identifier"]: item["extensions"]["linkedDataIRI"] for item in package["CFItems"]}
    ours = {}
    for a in package["CFAssociations"]:
        if "skosPredicate" in a.get("extensions", {}):
            ext = a["extensions"]
            key = (subject_of[a["originNodeURI"]["identifier"]], ext["skosPredicate"].rpartition("#")[2],
                   a["destinationNodeURI"]["uri"], ext["mappingJustification"], ext["confidence"])
            assert key not in ours
            ours[key] = a
    expected = {(row[0].replace("kg:", CATALOG["base"]), row[2].removeprefix("skos:"),
                 row[3].replace("ESCO:", "http://data.europa.eu/esco/"),
                 row[5].replace("semapv:", "https://w3id.org/semapv/vocab/"), float(row[9])) for row in MAPPING_ROWS}
    assert len(expected) == 21
    assert set(ours) == expected
    for (_, predicate, *_), association in ours.items():
        assert association["associationType"] == ("exactMatchOf" if predicate == "exactMatch" else "isRelatedTo")
        assert association["notes"].startswith(f"skos:{predicate} (semapv:ManualMappingCuration")
        assert association["destinationNodeURI"]["targetType"] == "ext:ESCO"
        assert "CFAssociationGroupingURI" in association


def test_document_metadata_comes_from_catalog_yaml(source):
    doc = source["CFDocument"]
    assert doc["creator"] == doc["publisher"] == CATALOG["publisher"]["name"]
    assert doc["version"] == str(CATALOG["version"])
    assert doc["lastChangeDateTime"] == f"{CATALOG['modified']}T00:00:00Z"
    assert doc["officialSourceURL"] == CATALOG["source"]
    [licence] = source["CFDefinitions"]["CFLicenses"]
    assert doc["licenseURI"]["identifier"] == licence["identifier"] and CATALOG["license"] in licence["licenseText"]
    assert doc["caseVersion"] == "1.1"


def test_the_manifest_lists_the_packages(exported):
    manifest = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["name"]: e for e in manifest["files"]}
    for suffix in case.FILE_SUFFIXES.values():
        assert entries[f"catalogue.{suffix}"]["media_type"] == "application/json"
        assert entries[f"catalogue.{suffix}"]["rows"] == 27  # 1 cluster, 5 levels, 1 competency, 5 competency levels, 15 criteria


def test_the_mapping_reads_only_the_graph():
    """A second base gives other URIs and identifiers, as the graph built under that base says."""
    graph = compile_catalogue(CATALOG_DIR, base="http://example.org/kg/").graph
    package = case.CaseFramework(graph).package()
    assert errors(package) == [] and uri_errors(package) == []
    assert all(uri.startswith("http://example.org/kg/") for uri in (i["uri"] for i in package["CFItems"]))


def test_association_identifiers_from_iris_are_those_of_the_objects():
    """The API indexes associations by ``association_ids`` without making them: both rules must agree."""
    graph = compile_catalogue(CATALOG_DIR).graph
    framework = case.CaseFramework(graph)
    for language in case.LANGUAGES:
        for part, sequence in framework.competency_sequences():
            _, associations, _ = framework.competency_objects(part, language, sequence)
            assert sorted(framework.association_ids(part, language)) == sorted(a["identifier"] for a in associations)
