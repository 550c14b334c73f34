"""`ckg export`: every format, the same graph in each, byte-stable, all or nothing."""
from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, parse
from rdflib.compare import isomorphic

from catalog import CATALOG_DIR
from catalogue_fixtures import BROKEN, assemble
from ckg.cli import cli
from exports import jsonld, release
from competency_kg.compile import compile_catalogue
from ontology.graph import Statement, to_rdflib_memory

FILES = ["catalogue.csv", "catalogue.jsonld", "catalogue.nt", "catalogue.rdf", "catalogue.ttl", "manifest.json"]
RDFLIB_FORMATS = {"ttl": "turtle", "nt": "nt", "rdf": "xml", "jsonld": "json-ld"}
OX_FORMATS = {"ttl": RdfFormat.TURTLE, "nt": RdfFormat.N_TRIPLES, "rdf": RdfFormat.RDF_XML, "jsonld": RdfFormat.JSON_LD}


def export(out: Path, *args: str):
    result = CliRunner().invoke(cli, ["export", "--out", str(out), *args])
    return result


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "dist"
    result = export(out, "--verify")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def built_graph() -> rdflib.Graph:
    graph = compile_catalogue(CATALOG_DIR).graph
    return to_rdflib_memory(graph.statements())


def test_all_files_and_a_manifest_are_written(exported, built_graph):
    assert set(FILES) <= {p.name for p in exported.iterdir()}
    manifest = json.loads((exported / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["triples"] == len(built_graph)
    import hashlib
    for entry in manifest["files"]:
        data = (exported / entry["name"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    counts = {e["name"]: e.get("triples") or e.get("rows") for e in manifest["files"]}
    assert counts["catalogue.ttl"] == counts["catalogue.nt"] == counts["catalogue.rdf"] == len(built_graph)
    assert counts["catalogue.csv"] == 15


@pytest.mark.parametrize("extension", sorted(RDFLIB_FORMATS))
def test_each_rdf_export_parses_back_isomorphic_with_rdflib(exported, built_graph, extension):
    parsed = rdflib.Graph().parse(exported / f"catalogue.{extension}", format=RDFLIB_FORMATS[extension])
    assert len(parsed) == len(built_graph)
    assert isomorphic(parsed, built_graph)


@pytest.mark.parametrize("extension", sorted(OX_FORMATS))
def test_each_rdf_export_parses_back_identical_with_oxigraph(exported, extension):
    graph = compile_catalogue(CATALOG_DIR).graph
    expected = {tuple(s) for s in graph.statements()}
    parsed = {(q.subject, q.predicate, q.object)
              for q in parse(path=str(exported / f"catalogue.{extension}"), format=OX_FORMATS[extension])}
    # no blank nodes anywhere, so isomorphism is plain equality of the triple sets
    assert parsed == expected


def test_jsonld_is_read_without_the_network(exported, built_graph, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the JSON-LD export tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    parsed = rdflib.Graph().parse(exported / "catalogue.jsonld", format="json-ld")
    assert isomorphic(parsed, built_graph)


def test_jsonld_has_the_nested_predictable_shape(exported):
    document = json.loads((exported / "catalogue.jsonld").read_text(encoding="utf-8"))
    assert isinstance(document["@context"], dict)
    competency = next(n for n in document["@graph"] if "Competency" in n["type"])
    assert competency["id"] == "https://w3id.org/competency-kg/competency/klantgerichtheid"
    assert competency["prefLabel"] == {"en": "Customer orientation", "nl": "Klantgerichtheid"}
    assert [level["rank"] for level in competency["levels"]] == [1, 2, 3, 4, 5]
    for level in competency["levels"]:
        assert [c["position"] for c in level["criteria"]] == [1, 2, 3]
        assert all(set(c["statement"]) == {"nl", "en"} for c in level["criteria"])
        assert level["level"] == f"https://w3id.org/competency-kg/level/{level['rank']}"
    assert competency["levels"][0]["criteria"][0]["statement"]["nl"] == "Toont begrip voor de wensen en belangen van een klant."
    assert sorted(o["id"].rsplit("/", 1)[1] for o in competency["developmentOffers"]) == [
        "coachen-op-klantgerichtheid", "competentieworkshop-klantgerichtheid"]
    # every node's "type" is a list, so plain JSON code never branches on it
    def walk(node):
        assert isinstance(node.get("type", []), list)
        for child in node.get("levels", []) + node.get("criteria", []) + node.get("developmentOffers", []):
            walk(child)
    for node in document["@graph"]:
        walk(node)


@pytest.mark.parametrize("value, native", [
    ("5", 5), ("-17", -17), (str(2**53 - 1), 2**53 - 1), (str(2**53), None), (str(2**64), None), ("007", None),
    ("+3", None), ("a few", None), ("", None)])
def test_integers_are_json_numbers_only_where_every_reader_reads_them_back(value, native):
    """An engine's graph (``ckg serve --store``) may hold any xsd:integer literal: ``rank`` is written as a JSON
    number only when jsonld.js (whose numbers are doubles) and orjson (64 bits) give back the very same
    literal; else as a value object, never an error."""
    rank, integer = "https://w3id.org/competency-kg/def#rank", "http://www.w3.org/2001/XMLSchema#integer"
    triples = [Statement(NamedNode("https://w3id.org/competency-kg/level/9"), NamedNode(rank),
                         Literal(value, datatype=NamedNode(integer)))]
    document = json.loads(jsonld.dumps(jsonld.document(triples)))
    if native is None:
        assert "rank" not in document and document[rank] == [{"@value": value, "@type": integer}]
    else:
        assert document["rank"] == native
    back = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    assert set(back.objects()) == {rdflib.Literal(value, datatype=rdflib.XSD.integer)}


def test_csv_has_one_row_per_criterion_in_order(exported):
    with (exported / "catalogue.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15
    assert [(r["level_rank"], r["criterion_position"]) for r in rows][:4] == [("1", "1"), ("1", "2"), ("1", "3"), ("2", "1")]
    assert rows[0]["competency_nl"] == "Klantgerichtheid" and rows[0]["level_en"] == "Basic/Starter"
    assert rows[3]["criterion_nl"].endswith("beschouwt zijn collega’s ook als (interne) afnemers.")


def test_exports_are_byte_for_byte_deterministic(tmp_path, exported):
    again = tmp_path / "again"
    assert export(again).exit_code == 0
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in exported.iterdir())
    for name in sorted(p.name for p in exported.iterdir()):
        assert (again / name).read_bytes() == (exported / name).read_bytes(), name


def test_turtle_is_sorted_by_subject(exported):
    """The Turtle file, read as text: one block per subject (a line starting with its IRI), in IRI order."""
    lines = (exported / "catalogue.ttl").read_text(encoding="utf-8").splitlines()
    subjects = [line.split(" ", 1)[0].strip("<>") for line in lines if line.startswith("<")]
    assert len(subjects) == len(set(subjects))
    every_subject = {line.split(" ", 1)[0].strip("<>") for line in
                     (exported / "catalogue.nt").read_text(encoding="utf-8").splitlines() if line.startswith("<")}
    assert set(subjects) == every_subject
    competency_block = [s for s in subjects if "/competency/" in s or "/offer/" in s]
    assert len(competency_block) > 20 and competency_block == sorted(competency_block)


def test_a_broken_catalogue_leaves_the_previous_release_untouched(tmp_path, exported):
    out = tmp_path / "dist"
    assert export(out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = assemble(tmp_path / "broken", BROKEN / "many-problems")
    result = CliRunner().invoke(cli, ["export", "--out", str(out), str(broken)])
    assert result.exit_code == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist.")], "a staging folder was left behind"


def test_a_failing_writer_leaves_the_previous_release_untouched(tmp_path, monkeypatch):
    out = tmp_path / "dist"
    assert export(out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(release, "_write_nested_files", fail)
    result = export(out)
    assert result.exit_code == 1
    assert "export failed" in result.output and "No space left on device" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist.")]


def test_build_writes_one_format_to_stdout(built_graph):
    result = CliRunner().invoke(cli, ["build", "-f", "nt"])
    assert result.exit_code == 0
    assert len(result.stdout_bytes.decode("utf-8").splitlines()) == len(built_graph)


@pytest.mark.parametrize("forked", [False, True], ids=["inline writer", "forked writer"])
def test_build_to_a_file_writes_what_export_writes(tmp_path, exported, monkeypatch, forked):
    if forked:  # the path large catalogues take: the file written by a forked child while SHACL runs
        monkeypatch.setattr(release, "PARALLEL_FROM", 0)
    target = tmp_path / "graph.nt"
    result = CliRunner().invoke(cli, ["build", "-f", "nt", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == (exported / "catalogue.nt").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["graph.nt"], "a temporary file was left behind"


@pytest.mark.parametrize("forked", [False, True], ids=["inline writer", "forked writer"])
def test_build_that_fails_its_check_leaves_the_previous_file_untouched(tmp_path, monkeypatch, forked):
    from ckg import cli as cli_module
    from ontology.problems import Problem

    if forked:
        monkeypatch.setattr(release, "PARALLEL_FROM", 0)
    target = tmp_path / "graph.ttl"
    target.write_text("previous release\n", encoding="utf-8")
    monkeypatch.setattr(cli_module, "validate_graph", lambda graph, **_: [Problem("x.yaml", 3, 1, "SHACL: broken", "a fix")])
    result = CliRunner().invoke(cli, ["build", "-o", str(target)])
    assert result.exit_code == 1
    assert "x.yaml:3:1: SHACL: broken — a fix" in result.output and "nothing was built" in result.output
    assert target.read_text(encoding="utf-8") == "previous release\n"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.ttl"]


def test_a_failing_writer_stops_the_forked_helpers(tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.setattr(release, "PARALLEL_FROM", 0)  # check and nested writers in forked children

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(release, "_write_rdf_files", fail)
    result = export(tmp_path / "dist")
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert multiprocessing.active_children() == [], "a helper process outlived the failed export"
    assert list(tmp_path.iterdir()) == [], "a staging folder was left behind"


def test_our_ntriples_are_byte_for_byte_oxigraphs():
    """exports.rdf writes N-Triples itself; every escape must still be exactly what Oxigraph writes."""
    import io

    from pyoxigraph import Literal, NamedNode, serialize

    from exports.rdf import write_ntriples
    from ontology.graph import Statement

    texts = ['a"b', "back\\slash", "new\nline", "tab\there", "cr\rx", "\x00nul\x07bell\x7f", "é ü ’ 😀",
             "\u2028line separator", "\ufeffbom", "<>&'"]
    statements = []
    for index, text in enumerate(texts):
        subject, predicate = NamedNode(f"http://example.org/s{index}"), NamedNode("http://example.org/p")
        for obj in (Literal(text), Literal(text, language="nl-BE"), Literal(text, datatype=NamedNode("http://example.org/d")),
                    NamedNode("http://example.org/é%20x")):
            statements.append(Statement(subject, predicate, obj))
    ours = io.BytesIO()
    write_ntriples([statements], ours)
    assert ours.getvalue() == serialize((Triple(*s) for s in statements), format=RdfFormat.N_TRIPLES)
    graph = compile_catalogue(CATALOG_DIR).graph
    ours = io.BytesIO()
    write_ntriples(graph.ordered_groups, ours)
    assert ours.getvalue() == serialize(graph.triples(), format=RdfFormat.N_TRIPLES)
