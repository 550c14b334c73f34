"""The CASE 1.1 REST API under {base}ims/case/v1p1/: every answer checked against 1EdTech's schema."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urldefrag

import pytest
import requests
import yaml

from case_support import errors, uri_errors, uris
from catalog import CATALOG_DIR
from service import create_app
from exports import case
from service.case_api import CaseApi

API = "/ims/case/v1p1/"
BASE = yaml.safe_load((Path(CATALOG_DIR) / "catalog.yaml").read_text(encoding="utf-8"))["base"]
SEED = yaml.safe_load((Path(CATALOG_DIR) / "competencies" / "klantgerichtheid.yaml").read_text(encoding="utf-8"))
STATUS_KEYS = {"imsx_codeMajor", "imsx_severity", "imsx_description", "imsx_codeMinor"}


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


def get(client, path: str, **kwargs):
    return client.get(API + path, **kwargs)


@pytest.fixture(scope="module")
def documents(client) -> list[dict]:
    response = get(client, "CFDocuments")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json["CFDocuments"]


@pytest.fixture(scope="module")
def packages(client, documents) -> dict[str, dict]:
    found = {}
    for document in documents:
        response = get(client, f"CFPackages/{document['identifier']}")
        assert response.status_code == 200
        found[document["language"]] = response.json
    return found


def local(uri: str) -> str:
    """The path on this service of a URI under the catalogue's base."""
    assert uri.startswith(BASE), uri
    return "/" + urldefrag(uri)[0][len(BASE):]


def test_documents_list_both_languages_and_each_validates(documents, client):
    assert sorted(d["language"] for d in documents) == ["en", "nl"]
    for document in documents:
        assert errors(document, "CFPckgDocument", rest=True) == []
        one = get(client, f"CFDocuments/{document['identifier']}")
        assert one.status_code == 200 and one.json == document
        assert document["CFPackageURI"]["identifier"] == document["identifier"]


def test_packages_validate_and_match_the_export(packages):
    from exports.case import CaseFramework
    from competency_kg.compile import compile_catalogue
    graph = compile_catalogue(CATALOG_DIR).graph
    for language, package in packages.items():
        assert errors(package) == [] and uri_errors(package) == []
        assert package == CaseFramework(graph).package(language)


def test_every_item_association_and_rubric_answers_and_validates(client, packages):
    for package in packages.values():
        for item in package["CFItems"]:
            answer = get(client, f"CFItems/{item['identifier']}").json
            assert errors(answer, "CFPckgItem", rest=True) == []
            assert {k: v for k, v in answer.items() if k != "CFDocumentURI"} == item
            assert answer["CFDocumentURI"]["identifier"] == package["CFDocument"]["identifier"]
            both = get(client, f"CFItemAssociations/{item['identifier']}").json
            assert both["CFItem"] == answer
            expected = {a["identifier"] for p in packages.values() for a in p["CFAssociations"]  # translations link across
                        if item["identifier"] in (a["originNodeURI"]["identifier"], a["destinationNodeURI"]["identifier"])}
            assert {a["identifier"] for a in both["CFAssociations"]} == expected and expected
            for association in both["CFAssociations"]:
                assert errors(association, "CFPckgAssociation", rest=True) == []
        for association in package["CFAssociations"]:
            answer = get(client, f"CFAssociations/{association['identifier']}").json
            assert errors(answer, "CFPckgAssociation", rest=True) == []
        for rubric in package["CFRubrics"]:
            answer = get(client, f"CFRubrics/{rubric['identifier']}").json
            assert errors(answer, "CFRubric") == [] and answer == rubric


@pytest.mark.parametrize("endpoint, key, definition", [
    ("CFItemTypes", "CFItemTypes", "CFItemType"), ("CFLicenses", None, "CFLicense"),
    ("CFAssociationGroupings", None, "CFAssociationGrouping"),
])
def test_definitions_answer_and_validate(client, packages, endpoint, key, definition):
    for package in packages.values():
        objects = package["CFDefinitions"][endpoint]
        assert objects
        for obj in objects:
            answer = get(client, f"{endpoint}/{obj['identifier']}")
            assert answer.status_code == 200
            body = answer.json
            if key:
                assert list(body) == [key]
                [body] = body[key]
            assert errors(body, definition) == [] and body == obj


@pytest.mark.parametrize("endpoint", ["CFConcepts", "CFSubjects"])
def test_endpoints_without_objects_say_so(client, endpoint):
    answer = get(client, f"{endpoint}/045d49b4-2bfd-5af9-8619-b5167aaed853")
    assert answer.status_code == 404 and set(answer.json) == STATUS_KEYS


def test_every_uri_in_the_packages_dereferences(client, packages):
    seen = set()
    for package in packages.values():
        for uri in uris(package):
            if uri.startswith(BASE) and local(uri) not in seen:
                seen.add(local(uri))
                assert client.get(local(uri)).status_code == 200, uri
    assert len(seen) > 100


def test_items_lead_back_to_linked_data(client, packages):
    for item in packages["nl"]["CFItems"]:
        response = client.get(local(item["extensions"]["linkedDataIRI"]), headers={"Accept": "application/ld+json"})
        assert response.status_code == 200


@pytest.mark.parametrize("path, status, minor", [
    ("CFItems/045d49b4-2bfd-5af9-8619-b5167aaed853", 404, "unknownobject"),
    ("CFItems/not-a-uuid", 400, "invaliduuid"),
    ("CFItems/045D49B4-2BFD-5AF9-8619-B5167AAED853", 400, "invaliduuid"),
    ("CFRubrics/00000000-0000-0000-0000-000000000000", 400, "invaliduuid"),
    ("CFItems", 404, "unknownobject"),
    ("CFThings/045d49b4-2bfd-5af9-8619-b5167aaed853", 404, "unknownobject"),
    ("CFDocuments?colour=red", 400, "invalid_selection_field"),
    ("CFPackages/045d49b4-2bfd-5af9-8619-b5167aaed853?limit=5", 400, "invalid_selection_field"),
    ("CFDocuments?limit=0", 400, "invalid_selection_field"),
    ("CFDocuments?offset=-1", 400, "invalid_selection_field"),
    ("CFDocuments?sort=colour", 400, "invalid_sort_field"),
    ("CFDocuments?orderBy=up", 400, "invalid_sort_field"),
    ("CFDocuments?filter=title%20LIKE%20x", 400, "invalid_filter_field"),
    ("CFDocuments?fields=title,colour", 400, "invalid_selection_field"),
])
def test_refusals_are_imsx_status_info_with_the_right_status(client, path, status, minor):
    response = client.get(API + path)
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.json
    assert set(body) == STATUS_KEYS and (body["imsx_codeMajor"], body["imsx_severity"]) == ("failure", "error")
    assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == minor
    assert body["imsx_description"]


def test_collection_parameters(client, documents):
    by_language = {d["language"]: d for d in documents}
    assert [d["language"] for d in documents] == ["nl", "en"]  # the source first
    page = get(client, "CFDocuments?limit=1&offset=1")
    assert page.json["CFDocuments"] == [by_language["en"]] and page.headers["X-Total-Count"] == "2"
    ordered = get(client, "CFDocuments?sort=title&orderBy=asc").json["CFDocuments"]
    assert [d["title"] for d in ordered] == sorted(d["title"] for d in documents)
    reverse = get(client, "CFDocuments?sort=title&orderBy=desc").json["CFDocuments"]
    assert reverse == list(reversed(ordered))
    english = get(client, "CFDocuments?filter=language%3D'en'").json["CFDocuments"]
    assert english == [by_language["en"]]
    assert get(client, "CFDocuments?filter=title~'competentie'%20AND%20language!%3D'en'").json["CFDocuments"] == [by_language["nl"]]
    narrow = get(client, "CFDocuments?fields=identifier,title").json["CFDocuments"]
    assert narrow == [{"identifier": d["identifier"], "title": d["title"]} for d in documents]


def test_cors_and_etags(client, documents):
    path = f"CFDocuments/{documents[0]['identifier']}"
    response = get(client, path)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert get(client, path, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    preflight = client.options(API + path, headers={"Origin": "https://lms.example", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*" and "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert get(client, "CFItems/nope").headers["Access-Control-Allow-Origin"] == "*"
    package = get(client, f"CFPackages/{documents[0]['identifier']}")
    assert package.headers["Access-Control-Allow-Origin"] == "*" and package.mimetype == "application/json"
    assert get(client, f"CFPackages/{documents[0]['identifier']}", headers={"If-None-Match": package.headers["ETag"]}).status_code == 304


def test_the_api_logic_needs_no_flask():
    from competency_kg.compile import compile_catalogue
    graph = compile_catalogue(CATALOG_DIR).graph
    api = CaseApi(graph)
    answer = api.answer("CFDocuments", None, {"fields": ["title"]})
    assert answer.status == 200 and answer.body == {"CFDocuments": [{"title": "Competentielijst"}, {"title": "List of competencies"}]}
    criterion = case.item_id(BASE + "competency/klantgerichtheid/level/2/criterion/3", "en")
    answer = api.answer("CFItems", criterion, {})
    assert answer.status == 200 and answer.body["fullStatement"] == SEED["levels"][1]["criteria"][2]["en"]
    assert "owners" not in api.__dict__, "an item lookup should not map every competency (only associations need that)"


def test_a_newcomer_follows_documents_to_the_package_on_the_real_server(live_server):
    """curl CFDocuments, follow CFPackageURI, and find the seed's criteria in the package and its rubric."""
    documents = requests.get(live_server + API.lstrip("/") + "CFDocuments", timeout=10)
    assert documents.status_code == 200 and documents.headers["Access-Control-Allow-Origin"] == "*"
    [dutch] = [d for d in documents.json()["CFDocuments"] if d["language"] == "nl"]
    package = requests.get(live_server + local(dutch["CFPackageURI"]["uri"]).lstrip("/"), timeout=10).json()
    assert errors(package) == []
    texts = {item["fullStatement"] for item in package["CFItems"]}
    criteria = [text["nl"] for level in SEED["levels"] for text in level["criteria"]]
    assert len(criteria) == 15 and set(criteria) <= texts
    rubric_lines = [line for level in package["CFRubrics"][0]["CFRubricCriteria"][0]["CFRubricCriterionLevels"]
                    for line in level["description"].split("\n")]
    assert rubric_lines == criteria
    missing = requests.get(live_server + API.lstrip("/") + "CFItems/not-a-uuid", timeout=10)
    assert missing.status_code == 400 and missing.json()["imsx_codeMajor"] == "failure"
