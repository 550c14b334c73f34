"""`ckg export --verify` parses every file it writes back and refuses to publish one that does not hold up."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ckg.cli import cli
from exports import case, release

WRITTEN = ["catalogue.ttl", "catalogue.nt", "catalogue.rdf", "catalogue.jsonld", "catalogue.csv",
           "catalogue.sssom.tsv", "catalogue.sssom.json", "catalogue.case.json", "catalogue.case.en.json"]


def export(out: Path, *args: str):
    return CliRunner().invoke(cli, ["export", "--out", str(out), *args])


def drop_last_line(path: Path) -> None:
    """What a writer that stopped early leaves: the file without its last line (a triple, a row, a closing tag)."""
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "dist"
    result = export(out, "--verify")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("name", WRITTEN)
def test_verify_refuses_a_damaged_file_and_keeps_the_previous_release(published, monkeypatch, name):
    before = {p.name: p.read_bytes() for p in published.iterdir()}
    original = case.write_files

    def write_then_damage(graph, folder, basename):  # the CASE packages are written last, into the staging folder
        counts = original(graph, folder, basename)
        drop_last_line(Path(folder) / name)
        return counts

    monkeypatch.setattr(release.case, "write_files", write_then_damage)
    result = export(published, "--verify")
    assert result.exit_code == 1, result.output
    assert f"{name} " in result.output and ("parse" in result.output), result.output
    assert {p.name: p.read_bytes() for p in published.iterdir()} == before


def test_without_verify_the_same_damage_is_published(tmp_path, monkeypatch):
    """The refusals above come from --verify's parsing, not from some other check."""
    original = case.write_files

    def write_then_damage(graph, folder, basename):
        counts = original(graph, folder, basename)
        drop_last_line(Path(folder) / "catalogue.jsonld")
        return counts

    monkeypatch.setattr(release.case, "write_files", write_then_damage)
    result = export(tmp_path / "dist", )
    assert result.exit_code == 0, result.output
    assert "catalogue.jsonld" in {p.name for p in (tmp_path / "dist").iterdir()}


def test_a_row_of_another_width_is_named_where_it_is(tmp_path):
    from exports.verify import count_csv_rows, count_sssom_tsv_rows
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^t\.csv line 3: 1 fields, the header has 2$"):
        count_csv_rows(table)
    table.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    assert count_csv_rows(table) == 2
    mappings = tmp_path / "m.sssom.tsv"
    mappings.write_text("# curie_map: {}\nsubject_id\tobject_id\nx\ty\nz\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^m\.sssom\.tsv mapping row 2: 1 fields, the header has 2$"):
        count_sssom_tsv_rows(mappings)
    mappings.write_text("# curie_map: {}\nsubject_id\tobject_id\nx\ty\nz\tw\n", encoding="utf-8")
    assert count_sssom_tsv_rows(mappings) == 2
