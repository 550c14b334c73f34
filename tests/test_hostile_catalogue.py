"""The catalogue tools under hostile files (issue 8, classes 8-11): each bound is tried from outside.

Every refusal must be a catalogue problem at ``file:line:column`` with exit status 1 — never an
internal error (exit 3), never a hang or a memory blow-up, never the content of a file that is not
the catalogue's.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import RdfFormat, parse

from catalogue_fixtures import FIXTURES, assemble
from ckg.cli import cli
from ontology import yamldoc

pytestmark = pytest.mark.hostile
REPO = Path(__file__).resolve().parent.parent
HEAD = "slug: luisteren\ncluster: ondernemen\nname: {nl: Luisteren, en: Listening}\n"
CRITERIA = "levels:\n  - level: 1\n    criteria:\n      - {nl: Luistert., en: Listens.}\n" \
           "  - level: 2\n    criteria:\n      - {nl: Vat samen., en: Summarises.}\n"


def catalogue_with(tmp_path: Path, text: str | bytes, name: str = "luisteren.yaml") -> Path:
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    target = catalog / "competencies" / name
    target.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return catalog


def validate(catalog: Path):
    result = CliRunner().invoke(cli, ["validate", str(catalog)])
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    return result


def validate_in_a_process(catalog: Path, memory: int = 1 << 30) -> subprocess.CompletedProcess:
    """``ckg validate`` as its own process, limited to ``memory`` bytes: a blow-up fails, not the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return subprocess.run([sys.executable, "-m", "ckg.cli", "validate", str(catalog)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, preexec_fn=limit)


def laughs(levels: int) -> str:
    """The billion laughs: each anchor a list of ten aliases of the one before; 10**levels values."""
    lines = ['a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


# class 8: YAML bombs, self-reference, tags, size, nesting

def test_a_1kb_billion_laughs_is_refused_at_the_alias_that_breaks_the_bound(tmp_path):
    text = HEAD + CRITERIA + laughs(9)
    assert len(text.encode()) < 1200
    catalog = catalogue_with(tmp_path, text)
    done = validate_in_a_process(catalog)  # 1 GiB of address space: an expansion would die of MemoryError (exit 3)
    assert done.returncode == 1, done.stderr
    # a0..a4 stand for 1, 11, 111, 1,111 and 11,111 values (a list counts as one): with the ~40 values of
    # the competency, the file holds ~12,400 values before a5, whose eighth *a4 takes it past 100,000.
    line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith("a5:"))
    column = text.splitlines()[line - 1].index("*a4") + 1 + 7 * len("*a4, ")
    assert f"luisteren.yaml:{line}:{column}: alias *a4 expands the file beyond 100,000 values" in done.stderr
    assert "internal error" not in done.stderr


def test_the_same_bomb_hidden_in_a_mapping_files_metadata_is_refused(tmp_path):
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    (catalog / "mappings").mkdir()
    block = "".join(f"#{line}\n" for line in laughs(9).splitlines())
    (catalog / "mappings" / "x.sssom.tsv").write_text(block + "#mapping_set_id: *a9\nsubject_id\tpredicate_id\tobject_id\n",
                                                       encoding="utf-8")
    done = validate_in_a_process(catalog)
    assert done.returncode == 1, done.stderr
    assert "mappings/x.sssom.tsv:6:46: alias *a4 expands" in done.stderr and "expands the file beyond 100,000 values" in done.stderr


def test_a_self_referencing_alias_is_a_problem_at_its_place(tmp_path):
    result = validate(catalogue_with(tmp_path, HEAD + "levels: &loop\n  - level: 1\n    criteria: [*loop]\n"))
    assert result.exit_code == 1
    assert "luisteren.yaml:6:16: alias *loop refers to the value it is part of" in result.output


def test_aliases_nested_too_deep_are_refused_and_plain_nesting_too(tmp_path):
    deep = "x: &d0 1\n" + "".join(f"d{i}: &d{i} [*d{i - 1}]\n" for i in range(1, 40))
    result = validate(catalogue_with(tmp_path / "aliases", HEAD + CRITERIA + deep))
    assert result.exit_code == 1
    assert "luisteren.yaml:" in result.output and "nests values more than 32 levels deep" in result.output
    result = validate(catalogue_with(tmp_path / "plain", HEAD + CRITERIA + "x: " + "[" * 40 + "]" * 40 + "\n"))
    assert result.exit_code == 1
    assert "more than 100,000 values or 32 levels of nesting" in result.output


def test_an_ordinary_alias_is_still_allowed(tmp_path):
    text = HEAD + "levels:\n  - level: 1\n    criteria:\n      - &same {nl: Luistert., en: Listens.}\n" \
                  "  - level: 2\n    criteria:\n      - *same\n"
    result = validate(catalogue_with(tmp_path, text))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("tagged, shown", [
    ("!!python/object/apply:os.system ['touch {marker}']", "tag tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
    ("!!python/name:os.system ''", "tag tag:yaml.org,2002:python/name:os.system is not allowed"),
    ("!!binary aGVsbG8=", "tag tag:yaml.org,2002:binary is not allowed"),
    ("!!set {a: null}", "tag tag:yaml.org,2002:set is not allowed"),
    ("!custom text", "tag !custom is not allowed"),
    ("!!int twelve", "'twelve' cannot be read as int"),
    ("!!bool maybe", "'maybe' cannot be read as bool"),
])
def test_tags_other_than_plain_data_are_refused_never_constructed(tmp_path, tagged, shown):
    marker = tmp_path / "ran"
    text = HEAD.replace("cluster: ondernemen", "cluster: " + tagged.replace("{marker}", str(marker))) + CRITERIA
    result = validate(catalogue_with(tmp_path, text))
    assert result.exit_code == 1
    assert f"luisteren.yaml:2:10: {shown}" in result.output
    assert not marker.exists()


def test_a_file_over_the_size_bound_is_refused_unread(tmp_path):
    text = HEAD + CRITERIA + "# " + "x" * yamldoc.MAX_BYTES + "\n"
    result = validate(catalogue_with(tmp_path, text))
    assert result.exit_code == 1
    assert "luisteren.yaml:1:1: file is larger than 1024 KiB" in result.output


def test_a_named_pipe_is_refused_instead_of_waited_on(tmp_path):
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    fifo = catalog / "competencies" / "pipe.yaml"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that never writes: a reader would wait forever
    try:
        done = validate_in_a_process(catalog)
    finally:
        os.close(writer)
    assert done.returncode == 1, done.stderr
    assert "competencies/pipe.yaml:1:1: not a regular file" in done.stderr


# class 9: symbolic links

def test_a_link_to_a_system_file_is_refused_without_echoing_it(tmp_path):
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    (catalog / "competencies" / "passwd.yaml").symlink_to("/etc/passwd")
    result = validate(catalog)
    assert result.exit_code == 1
    assert "competencies/passwd.yaml:1:1: symbolic link to a file outside the catalogue folder" in result.output
    assert "root:" not in result.output and "/etc/passwd" not in result.output


def test_links_to_yaml_outside_are_refused_for_every_kind_of_file(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    valid = assemble(elsewhere, FIXTURES / "valid-mini")
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    (catalog / "catalog.yaml").unlink()
    (catalog / "catalog.yaml").symlink_to(valid / "catalog.yaml")
    (catalog / "competencies" / "luisteren.yaml").unlink()
    (catalog / "competencies" / "luisteren.yaml").symlink_to(valid / "competencies" / "luisteren.yaml")
    result = validate(catalog)
    assert result.exit_code == 1
    for name in ("catalog.yaml", "competencies/luisteren.yaml"):
        assert f"{catalog}/{name}:1:1: symbolic link to a file outside the catalogue folder" in result.output


def test_a_mapping_file_linked_from_outside_is_refused(tmp_path):
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    (catalog / "mappings").mkdir()
    (catalog / "mappings" / "esco.sssom.tsv").symlink_to(REPO / "catalog" / "mappings" / "esco.sssom.tsv")
    result = validate(catalog)
    assert result.exit_code == 1
    assert f"{catalog}/mappings/esco.sssom.tsv:1:1: symbolic link to a file outside the catalogue folder" in result.output


def test_a_folder_linked_from_outside_is_refused_too(tmp_path):
    elsewhere = assemble(tmp_path / "elsewhere", FIXTURES / "valid-mini")
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    for file in (catalog / "competencies").iterdir():
        file.unlink()
    (catalog / "competencies").rmdir()
    (catalog / "competencies").symlink_to(elsewhere / "competencies")
    result = validate(catalog)
    assert result.exit_code == 1
    assert "competencies/luisteren.yaml:1:1: symbolic link to a file outside" in result.output


def test_links_inside_the_catalogue_and_a_linked_catalogue_folder_are_fine(tmp_path):
    catalog = assemble(tmp_path / "catalog", FIXTURES / "valid-mini")
    (catalog / "meta").mkdir()
    (catalog / "catalog.yaml").rename(catalog / "meta" / "catalog.yaml")
    (catalog / "catalog.yaml").symlink_to(Path("meta") / "catalog.yaml")
    (tmp_path / "alias").symlink_to(catalog)
    result = validate(tmp_path / "alias")
    assert result.exit_code == 0, result.output


# class 10: characters an export cannot carry

@pytest.mark.parametrize("escape, code", [("\\a", "0007"), ("\\0", "0000"), ("\\e", "001B"), ("\\x08", "0008"),
                                          ("\\r", "000D"), ("\\uFFFE", "FFFE"), ("\\x1F", "001F")])
def test_text_an_export_cannot_carry_is_a_problem_at_its_place(tmp_path, escape, code):
    text = HEAD + CRITERIA.replace("{nl: Luistert., en: Listens.}", f'{{nl: Luistert., en: "Lis{escape}tens."}}')
    result = validate(catalogue_with(tmp_path, text))
    assert result.exit_code == 1
    assert f"luisteren.yaml:7:29: text holds the control character U+{code} at character 4" in result.output


def test_a_refused_character_never_reaches_the_export(tmp_path):
    good = assemble(tmp_path / "good", FIXTURES / "valid-mini")
    out = tmp_path / "dist"
    assert CliRunner().invoke(cli, ["export", "--out", str(out), str(good)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    text = HEAD + CRITERIA.replace("Listens.", '"Listens\\a."')
    result = CliRunner().invoke(cli, ["export", "--out", str(out), str(catalogue_with(tmp_path, text))])
    assert result.exit_code == 1 and "U+0007" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_every_character_that_is_allowed_survives_rdf_xml_unchanged(tmp_path):
    """The refused set is enough: tab, line feed, DEL, C1 controls, NEL, U+FFFD and astral characters
    are carried by the RDF/XML (well-formed XML, read by two parsers) exactly as by the N-Triples."""
    edge = "A\\tB\\nC\\x7F\\x80\\x85\\x9F\\uFFFD\\U0001F600 é"
    text = HEAD + CRITERIA.replace("Listens.", f'"{edge}"')
    catalog = catalogue_with(tmp_path, text)
    out = tmp_path / "dist"
    result = CliRunner().invoke(cli, ["export", "--out", str(out), str(catalog)])
    assert result.exit_code == 0, result.output
    xml.dom.minidom.parse(str(out / "catalogue.rdf"))  # expat: raises on anything not well-formed
    wanted = "A\tB\nC\x7f\x80\x85\x9f\ufffd\U0001F600 é"

    def texts(extension: str, fmt: RdfFormat) -> set[str]:
        return {t.object.value for t in parse(path=str(out / f"catalogue.{extension}"), format=fmt)
                if t.object.value.startswith("A\t")}
    assert texts("rdf", RdfFormat.RDF_XML) == texts("nt", RdfFormat.N_TRIPLES) == texts("ttl", RdfFormat.TURTLE) == {wanted}


# class 11: files that are not UTF-8

def test_a_non_utf8_byte_is_reported_at_its_line_and_column(tmp_path):
    text = HEAD.encode() + "levels: # één\n  - level: 1\n    criteria:\n      - {nl: Caf".encode() + b"\xe9 " + b"}\n"
    result = validate(catalogue_with(tmp_path, text))
    assert result.exit_code == 1
    assert "luisteren.yaml:7:17: file is not valid UTF-8: byte 0xe9" in result.output


def test_control_characters_in_messages_are_shown_escaped(tmp_path):
    """A key is echoed in its 'unknown field' message: on a terminal, a raw ESC there would restyle it."""
    result = validate(catalogue_with(tmp_path, HEAD + CRITERIA + '"x\\e[31m\\ay": 1\n'))
    assert result.exit_code == 1
    assert "unknown field 'x\\x1b[31m\\x07y'" in result.output


def test_mapping_files_obey_the_same_character_rule(tmp_path):
    """Mapping cells and stored labels become literals of the graph (and of catalogue.rdf) like the YAML's texts."""
    table = (REPO / "catalog" / "mappings" / "esco.sssom.tsv").read_text(encoding="utf-8")
    labels = (REPO / "catalog" / "mappings" / "esco-labels.ttl").read_text(encoding="utf-8")
    lines = table.splitlines()
    row = next(n for n, line in enumerate(lines) if line.startswith("kg:competency/klantgerichtheid\t"))
    lines[row] = lines[row].replace("Customer orientation", "Customer\x1borientation", 1)
    for name, damaged, shown in [
        ("esco.sssom.tsv", "\r\n".join(lines) + "\r\n", f"mappings/esco.sssom.tsv:{row + 1}:40: holds the control character U+001B"),
        ("esco-labels.ttl", labels.replace('"ensure customer orientation"@en', '"ensure\\u0007customer"@en', 1),
         "mappings/esco-labels.ttl:1:1: a text of <http://data.europa.eu/esco/skill/5b0f2198-7246-4256-a902-4d9ce1260c80> holds a control character"),
    ]:
        catalog = tmp_path / name  # the bundled catalogue, with one damaged mapping file
        shutil.copytree(REPO / "catalog", catalog, ignore=shutil.ignore_patterns("releases", "__pycache__"))
        (catalog / "mappings" / name).write_bytes(damaged.encode("utf-8"))
        result = validate(catalog)
        assert result.exit_code == 1, result.output
        assert shown in result.output, result.output


HOSTILE_FILES = {
    "billion laughs": (HEAD + CRITERIA + laughs(9)).encode(),
    "self-referencing alias": (HEAD + "levels: &loop\n  - level: 1\n    criteria: [*loop]\n").encode(),
    "python tag": (HEAD.replace("cluster: ondernemen", "cluster: !!python/object/apply:os.getpid []") + CRITERIA).encode(),
    "control character": (HEAD + CRITERIA.replace("Listens.", '"Listens\\0"')).encode(),
    "latin-1": (HEAD + CRITERIA.replace("Listens.", "Café")).encode("latin-1"),
    "link to /etc/passwd": None,
}


@pytest.mark.parametrize("kind", HOSTILE_FILES)
def test_export_of_a_hostile_file_fails_as_a_catalogue_problem_and_keeps_the_previous_export(tmp_path, kind):
    out = tmp_path / "dist"
    good = assemble(tmp_path / "good", FIXTURES / "valid-mini")
    assert CliRunner().invoke(cli, ["export", "--out", str(out), str(good)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    catalog = assemble(tmp_path / "hostile", FIXTURES / "valid-mini")
    target = catalog / "competencies" / "luisteren.yaml"
    target.unlink()
    if HOSTILE_FILES[kind] is None:
        target.symlink_to("/etc/passwd")
    else:
        target.write_bytes(HOSTILE_FILES[kind])

    def limit() -> None:  # a failed bound would die of MemoryError (exit 3) instead of taking the machine
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    done = subprocess.run([sys.executable, "-m", "ckg.cli", "export", "--out", str(out), str(catalog)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert done.returncode == 1, done.stderr
    assert f"{target}:" in done.stderr and "problem" in done.stderr and "internal error" not in done.stderr
    assert "root:" not in done.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dist.")]
