"""The bundled catalogue's second release, made in a temporary copy: what the release tests check.

Relative to 1.0.0 it adds two competencies (klantbewustzijn, klantrelaties), rewords one criterion
of klantgerichtheid (level 2, criterion 3), and deprecates klantgerichtheid in favour of the two
new ones, a split. Version 1.1.0: additions and a deprecation, nothing removed.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from ckg.cli import cli

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "catalog"
REWORDED = "competency/klantgerichtheid/level/2/criterion/3"
OLD_TEXT = "Vraagt naar de wensen van de klant."
NEW_TEXT = "Vraagt actief naar de wensen van de klant."
ADDED = ("klantbewustzijn", "klantrelaties")


def competency_yaml(slug: str, name_nl: str, name_en: str, levels: int = 5) -> str:
    """A small but complete competency file (one criterion per level)."""
    lines = [f"slug: {slug}", "cluster: ondernemen", "name:", f"  nl: {name_nl}", f"  en: {name_en}", "levels:"]
    for rank in range(1, levels + 1):
        lines += [f"  - level: {rank}", "    criteria:",
                  f"      - nl: {name_nl} op niveau {rank}.", f"        en: {name_en} at level {rank}."]
    return "\n".join(lines) + "\n"


def copy_bundled(target: Path, *, with_releases: bool = True) -> Path:
    """A copy of the bundled catalogue (with its committed releases unless told otherwise)."""
    ignore = None if with_releases else shutil.ignore_patterns("releases")
    shutil.copytree(BUNDLED, target, ignore=ignore)
    return target


def make_second_release(catalog: Path, version: str = "1.1.0", modified: str = "2026-12-01") -> Path:
    """Edit the copy at ``catalog`` into the second release's YAML (see the module docstring)."""
    (catalog / "competencies" / "klantbewustzijn.yaml").write_text(
        competency_yaml("klantbewustzijn", "Klantbewustzijn", "Customer awareness"), encoding="utf-8")
    (catalog / "competencies" / "klantrelaties.yaml").write_text(
        competency_yaml("klantrelaties", "Klantrelaties", "Customer relations"), encoding="utf-8")
    path = catalog / "competencies" / "klantgerichtheid.yaml"
    text = path.read_text(encoding="utf-8")
    assert f"nl: {OLD_TEXT}" in text
    text = text.replace(f"nl: {OLD_TEXT}", f"nl: {NEW_TEXT}")
    text += ("deprecated:\n  replaced_by: [competency/klantbewustzijn, competency/klantrelaties]\n"
             "  note:\n    nl: Gesplitst in klantbewustzijn en klantrelaties.\n"
             "    en: Split into customer awareness and customer relations.\n")
    path.write_text(text, encoding="utf-8")
    set_version(catalog, version, modified)
    return catalog


def set_version(catalog: Path, version: str, modified: str | None = None) -> None:
    meta = catalog / "catalog.yaml"
    lines = []
    for line in meta.read_text(encoding="utf-8").splitlines():
        if line.startswith("version:"):
            line = f"version: {version}"
        elif modified and line.startswith("modified:"):
            line = f"modified: {modified}"
        lines.append(line)
    meta.write_text("\n".join(lines) + "\n", encoding="utf-8")


def release(catalog: Path) -> None:
    """``ckg release`` of the copy, as a user runs it."""
    result = CliRunner().invoke(cli, ["release", str(catalog)])
    assert result.exit_code == 0, result.output


def make_three_releases(catalog: Path) -> Path:
    """Releases 1.0.0 (bundled), 1.1.0 (the second release above) and 2.0.0 (klantgerichtheid removed) in the copy."""
    release(make_second_release(catalog))
    (catalog / "competencies" / "klantgerichtheid.yaml").unlink()
    (catalog / "mappings" / "esco.sssom.tsv").unlink()
    set_version(catalog, "2.0.0", "2026-12-15")
    release(catalog)
    return catalog
