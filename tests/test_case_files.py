"""The CASE API read from a release folder's packages (``--store``) answers exactly as the one made in memory.

Three catalogues: the bundled one, its second release (a deprecated competency with ``replacedBy``
associations, three competencies in one cluster) and a synthetic one (several clusters, SSSOM mappings on
criteria). Every item, association, rubric and definition of every package is asked of both APIs, and the
associations of every item, with the refusals.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from exports.case import item_id, write_files
from exports.release import BASENAME
from ontology.build import build_graph
from ontology.loader import load_catalogue
from release_support import copy_bundled, make_second_release
from service.case_api import CaseApi
from service.case_files import FileCaseApi, package_path, write_index

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import generate  # noqa: E402

NOWHERE = "00000000-0000-4000-8000-000000000000"


def _catalogue(name: str, tmp: Path) -> Path:
    if name == "bundled":
        return copy_bundled(tmp / "catalog", with_releases=False)
    if name == "second release":
        return make_second_release(copy_bundled(tmp / "catalog", with_releases=False))
    return generate(tmp / "catalog", 12)


@pytest.fixture(scope="module", params=["bundled", "second release", "synthetic"])
def apis(request, tmp_path_factory) -> tuple[CaseApi, FileCaseApi, Path]:
    tmp = tmp_path_factory.mktemp("case-files")
    graph = build_graph(load_catalogue(_catalogue(request.param, tmp)))
    folder = tmp / "release"
    folder.mkdir()
    write_files(graph, folder, BASENAME)
    write_index(folder, tmp / "case.sqlite")
    return CaseApi(graph), FileCaseApi(folder, tmp / "case.sqlite"), folder


def _paths(api: CaseApi) -> list[tuple[str, str | None, dict]]:
    paths: list[tuple[str, str | None, dict]] = [
        ("CFDocuments", None, {}), ("CFDocuments", None, {"sort": ["title"], "orderBy": ["desc"]}),
        ("CFDocuments", None, {"filter": ["language='en'"]}), ("CFDocuments", None, {"limit": ["0"]}),
        ("CFItems", None, {}), ("CFItems", "not-a-uuid", {}), ("NoSuchEndpoint", NOWHERE, {})]
    for endpoint in ("CFDocuments", "CFPackages", "CFItems", "CFAssociations", "CFItemAssociations", "CFRubrics",
                     "CFItemTypes", "CFConcepts", "CFSubjects", "CFLicenses", "CFAssociationGroupings"):
        paths.append((endpoint, NOWHERE, {}))
    for identifier in api.documents:
        paths += [("CFDocuments", identifier, {}), ("CFPackages", identifier, {}), ("CFItems", identifier, {})]
        package = api.framework.package(api.languages[identifier])
        for item in package["CFItems"]:
            paths += [("CFItems", item["identifier"], {}), ("CFItemAssociations", item["identifier"], {}),
                      ("CFAssociations", item["identifier"], {}), ("CFRubrics", item["identifier"], {})]
        for association in package["CFAssociations"]:
            paths += [("CFAssociations", association["identifier"], {}), ("CFItems", association["identifier"], {})]
        paths += [("CFRubrics", r["identifier"], {}) for r in package["CFRubrics"]]
        for endpoint, objects in package["CFDefinitions"].items():
            paths += [(endpoint, d["identifier"], {}) for d in objects]
    return paths


def test_every_answer_is_the_in_memory_apis(apis) -> None:
    memory, files, _ = apis
    paths = _paths(memory)
    assert len(paths) > 100
    for endpoint, identifier, args in paths:
        assert files.answer(endpoint, identifier, args) == memory.answer(endpoint, identifier, args), (endpoint, identifier, args)


def test_items_of_shared_nodes_list_every_competencys_association(apis) -> None:
    """A cluster's associations come from every competency in it: the index is not limited to one part."""
    memory, files, _ = apis
    cluster = memory.framework.clusters[0].iri
    got = files.answer("CFItemAssociations", item_id(cluster), {})
    assert got == memory.answer("CFItemAssociations", item_id(cluster), {})
    children = [a for a in got.body["CFAssociations"] if a["associationType"] == "isChildOf"]
    assert len(children) > 1  # the cluster's place in the document, and its competencies


def test_the_packages_are_the_release_files(apis) -> None:
    memory, files, folder = apis
    for identifier, language in memory.languages.items():
        assert files.package_file(identifier) == package_path(folder, language)
        assert files.package_file(identifier).read_bytes() == memory.package_file(identifier).read_bytes()
    assert files.package_file(NOWHERE) is None
