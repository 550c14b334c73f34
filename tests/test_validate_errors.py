"""`ckg validate` reports every problem of a broken catalogue, each at its exact place."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from catalogue_fixtures import BROKEN, FIXTURES, assemble, broken_cases
from ckg.cli import cli


def run_validate(catalog: Path):
    return CliRunner().invoke(cli, ["validate", str(catalog)])


def test_the_mini_base_catalogue_is_valid(tmp_path):
    result = run_validate(assemble(tmp_path / "mini", FIXTURES / "valid-mini"))
    assert result.exit_code == 0, result.output
    assert "OK — 1 competencies, 2 levels, 2 competency levels, 3 criteria" in result.output


@pytest.mark.parametrize("case", broken_cases())
def test_broken_fixture_yields_its_exact_error_lines(tmp_path, case):
    # A fixture replaces the competencies (or catalog.yaml) of the valid mini catalogue.
    overlays = [FIXTURES / "valid-mini", BROKEN / case] if not (BROKEN / case / "competencies").exists() else [BROKEN / case]
    catalog = assemble(tmp_path / case, *overlays)
    result = run_validate(catalog)
    expected = (BROKEN / case / "expected.txt").read_text(encoding="utf-8").replace("{catalog}", str(catalog))
    lines = result.output.splitlines()
    assert result.exit_code == 1
    assert lines[:-1] == expected.splitlines()
    count = len(expected.splitlines())
    assert lines[-1] == f"{count} problem{'s' if count != 1 else ''} found; nothing was built."
    assert "Traceback" not in result.output


def test_every_error_line_has_the_editor_format(tmp_path):
    for case in broken_cases():
        for line in (BROKEN / case / "expected.txt").read_text(encoding="utf-8").splitlines():
            location, _, rest = line.partition(": ")
            path, line_number, column = location.rsplit(":", 2)
            assert path.startswith("{catalog}/") and line_number.isdigit() and column.isdigit(), line
            assert " — " in rest, f"{case}: no expectation given in {line!r}"


def test_a_missing_folder_is_a_clear_error(tmp_path):
    result = run_validate(tmp_path / "nowhere")
    assert result.exit_code == 1
    assert f"{tmp_path / 'nowhere'}:1:1: no catalogue folder here" in result.output


def test_missing_catalogue_files_are_reported_together(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_validate(tmp_path / "empty")
    assert result.exit_code == 1
    assert "catalog.yaml:1:1: file is missing" in result.output
    assert "levels.yaml:1:1: file is missing" in result.output
    assert "competencies:1:1: no competency files found" in result.output


def test_non_utf8_file_is_reported_not_crashed_on(tmp_path):
    catalog = assemble(tmp_path / "latin1", FIXTURES / "valid-mini")
    (catalog / "competencies" / "luisteren.yaml").write_bytes("slug: caf\xe9\n".encode("latin-1"))
    result = run_validate(catalog)
    assert result.exit_code == 1
    assert "luisteren.yaml:1:10: file is not valid UTF-8: byte 0xe9" in result.output  # the first bad byte


def test_a_malformed_base_option_is_refused(tmp_path):
    catalog = assemble(tmp_path / "mini", FIXTURES / "valid-mini")
    result = CliRunner().invoke(cli, ["validate", "--base", "not a base", str(catalog)])
    assert result.exit_code == 1
    assert "--base:1:1: malformed base IRI 'not a base'" in result.output


def test_a_competency_file_that_is_a_list_is_explained(tmp_path):
    catalog = assemble(tmp_path / "mini", FIXTURES / "valid-mini")
    (catalog / "competencies" / "luisteren.yaml").write_text("- a\n- b\n", encoding="utf-8")
    result = run_validate(catalog)
    assert result.exit_code == 1
    assert "luisteren.yaml:1:1: the file holds a list — a mapping of fields" in result.output
