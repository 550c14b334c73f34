"""``ckg release``: immutable numbered releases inside the catalogue folder, with a change set, and
refusals that say which version to use; the graph describes every release (DCAT 3 / PROV)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner

from ckg.cli import cli
from exports.release import BASENAME, MEDIA_TYPES
from ontology.releases import RELEASE_FILES

from release_support import ADDED, BUNDLED, NEW_TEXT, OLD_TEXT, REWORDED, copy_bundled, make_second_release, set_version

BASE = "https://w3id.org/competency-kg/"
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")
DCT = rdflib.DCTERMS


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """The bundled catalogue (with its committed 1.0.0) and its second release 1.1.0, made by ``ckg release``."""
    catalog = make_second_release(copy_bundled(tmp_path_factory.mktemp("rel") / "catalog"))
    result = run("release", str(catalog))
    assert result.exit_code == 0, result.output
    assert "release 1.1.0 against 1.0.0" in result.output
    return catalog


def _changes(catalog: Path, version: str) -> dict[str, dict]:
    data = json.loads((catalog / "releases" / version / "changes.json").read_text(encoding="utf-8"))
    return {c["iri"][len(BASE):]: c for c in data["changes"]}


def test_second_release_change_set(released):
    changes = _changes(released, "1.1.0")
    for slug in ADDED:
        assert changes[f"competency/{slug}"]["change"] == "added"
        assert changes[f"competency/{slug}/level/3/criterion/1"]["change"] == "added"
    # reworded, and deprecated with its competency: replaced by each replacement's level of the same rank
    reworded = changes[REWORDED]
    assert reworded["change"] == "deprecated" and reworded["bump"] == "minor"
    assert reworded["texts"] == [{"property": "https://w3id.org/competency-kg/def#statement", "language": "nl",
                                  "old": OLD_TEXT, "new": NEW_TEXT}]
    assert reworded["replaced_by"] == [BASE + f"competency/{slug}/level/2" for slug in ADDED]
    split = changes["competency/klantgerichtheid"]
    assert split["change"] == "deprecated"
    assert split["replaced_by"] == [BASE + f"competency/{slug}" for slug in ADDED]
    assert not any(c["change"] == "removed" for c in changes.values())
    # the other criteria of klantgerichtheid are deprecated with it, their texts unchanged
    other = changes["competency/klantgerichtheid/level/2/criterion/2"]
    assert other["change"] == "deprecated" and "texts" not in other
    assert changes["competency/klantgerichtheid/level/4"]["replaced_by"] == [BASE + f"competency/{slug}/level/4" for slug in ADDED]


def test_manifest_checksums_hold_for_every_file(released):
    for version in ("1.0.0", "1.1.0"):
        folder = released / "releases" / version
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert [f["name"] for f in manifest["files"]] == [name for name, _ in RELEASE_FILES]
        for entry in manifest["files"]:
            assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"], entry["name"]
    assert json.loads((released / "releases/1.1.0/manifest.json").read_text())["metadata"]["previous"] == "1.0.0"


def test_release_files_are_the_writers_files():
    assert list(RELEASE_FILES) == [(f"{BASENAME}.{e}", m) for e, m in MEDIA_TYPES.items()]


def test_releasing_the_same_version_again(released):
    before = {p.name: p.read_bytes() for p in (released / "releases/1.1.0").iterdir()}
    result = run("release", str(released))
    assert result.exit_code == 0 and "already exists with exactly this content" in result.output
    assert {p.name: p.read_bytes() for p in (released / "releases/1.1.0").iterdir()} == before


def test_same_version_with_other_content_is_refused(released, tmp_path):
    catalog = shutil.copytree(released, tmp_path / "c")
    path = catalog / "competencies" / "klantrelaties.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("op niveau 1.", "op niveau een."), encoding="utf-8")
    result = run("release", str(catalog))
    assert result.exit_code == 1
    assert "release 1.1.0 already exists" in result.output and "1.1.1 (patch), 1.2.0 (minor) or 2.0.0 (major)" in result.output


def test_a_release_without_changes_is_refused(tmp_path):
    catalog = copy_bundled(tmp_path / "c")
    set_version(catalog, "1.0.1")
    result = run("release", str(catalog))
    assert result.exit_code == 1 and "nothing changed since release 1.0.0" in result.output
    assert not (catalog / "releases" / "1.0.1").exists()


def test_a_bump_too_small_says_which_is_needed_and_why(tmp_path):
    catalog = make_second_release(copy_bundled(tmp_path / "c"), version="1.0.1")
    result = run("release", str(catalog))
    assert result.exit_code == 1
    assert "version 1.0.1 is a patch release, but these changes need a minor release (1.1.0)" in result.output
    assert "competency/klantbewustzijn added" in result.output
    assert not (catalog / "releases" / "1.0.1").exists()


def test_rewording_alone_is_a_patch(tmp_path):
    catalog = copy_bundled(tmp_path / "c")
    path = catalog / "competencies" / "klantgerichtheid.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(OLD_TEXT, NEW_TEXT), encoding="utf-8")
    set_version(catalog, "1.0.1")
    result = run("release", str(catalog))
    assert result.exit_code == 0, result.output
    assert list(_changes(catalog, "1.0.1")) == [REWORDED]


def test_a_version_out_of_line_is_refused(tmp_path):
    catalog = make_second_release(copy_bundled(tmp_path / "c"), version="1.3.0")
    result = run("release", str(catalog))
    assert result.exit_code == 1 and "does not follow release 1.0.0" in result.output


def test_deleting_a_released_criterion_is_a_validate_error(tmp_path):
    catalog = copy_bundled(tmp_path / "c")
    path = catalog / "competencies" / "klantgerichtheid.yaml"
    text = path.read_text(encoding="utf-8")
    last = "      - nl: Doet investeringen met het oog op een lange termijn relatie met de klant\n"
    start = text.index(last)
    end = text.index("\n", start + len(last)) + 1
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    (catalog / "mappings" / "esco.sssom.tsv").unlink()  # one of its rows maps that criterion
    set_version(catalog, "2.0.0")
    result = run("validate", str(catalog))
    assert result.exit_code == 1
    assert (f"{catalog}/competencies/klantgerichtheid.yaml:1:1: competency/klantgerichtheid/level/5/criterion/3 "
            "was published in release 1.0.0 but is missing") in result.output
    assert run("release", str(catalog)).exit_code == 1


def test_removal_after_deprecation_needs_a_major_release(released, tmp_path):
    catalog = shutil.copytree(released, tmp_path / "c")
    (catalog / "competencies" / "klantgerichtheid.yaml").unlink()
    (catalog / "mappings" / "esco.sssom.tsv").unlink()  # its rows map klantgerichtheid
    set_version(catalog, "1.2.0")
    refused = run("validate", str(catalog))
    assert refused.exit_code == 1 and "removing it needs a major version" in refused.output
    set_version(catalog, "2.0.0")
    result = run("release", str(catalog))
    assert result.exit_code == 0, result.output
    changes = _changes(catalog, "2.0.0")
    assert changes["competency/klantgerichtheid"]["change"] == "removed"
    assert changes["competency/klantgerichtheid"]["replaced_by"] == [BASE + f"competency/{slug}" for slug in ADDED]


def test_graph_describes_every_release(released):
    result = run("build", "-f", "nt", str(released))
    graph = rdflib.Graph().parse(data=result.output, format="nt")
    dataset, v1, v2 = (rdflib.URIRef(BASE + p) for p in ("", "release/1.0.0/", "release/1.1.0/"))
    assert set(graph.objects(dataset, DCAT.hasVersion)) == {v1, v2}
    assert (dataset, DCAT.hasCurrentVersion, v2) in graph
    assert (v2, DCAT.previousVersion, v1) in graph and (v2, PROV.wasRevisionOf, v1) in graph
    assert (v2, DCAT.version, rdflib.Literal("1.1.0")) in graph
    assert (v1, DCT.issued, rdflib.Literal("2026-11-27", datatype=rdflib.XSD.date)) in graph
    assert (v2, DCT.issued, rdflib.Literal("2026-12-01", datatype=rdflib.XSD.date)) in graph
    files = {str(f)[len(BASE + "release/1.1.0/"):] for f in graph.objects(v2, DCAT.distribution)}
    assert files == {name for name, _ in RELEASE_FILES}
    # the release's own dump is the graph as built now: releasing changed nothing in it
    assert (released / "releases/1.1.0/catalogue.nt").read_text(encoding="utf-8") == result.output


def test_bundled_release_is_committed_and_intact():
    folder = BUNDLED / "releases" / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metadata"]["version"] == "1.0.0" and manifest["metadata"]["issued"] == "2026-11-27"
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]


def test_removing_a_released_offer_needs_a_major_release(tmp_path):
    catalog = copy_bundled(tmp_path / "c")
    path = catalog / "competencies" / "klantgerichtheid.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("development:")], encoding="utf-8")
    set_version(catalog, "1.1.0")
    result = run("release", str(catalog))
    assert result.exit_code == 1
    assert "need a major release (2.0.0): a released resource was removed (offer/coachen-op-klantgerichtheid removed" in result.output
    set_version(catalog, "2.0.0")
    assert run("release", str(catalog)).exit_code == 0
    assert _changes(catalog, "2.0.0")["offer/coachen-op-klantgerichtheid"]["change"] == "removed"
