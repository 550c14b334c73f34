"""Builds test catalogues: the small valid base catalogue with a fixture's files laid over it."""
from __future__ import annotations

import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
BASE = FIXTURES / "base"
BROKEN = FIXTURES / "broken"


def assemble(target: Path, *overlays: Path) -> Path:
    """Copy the base catalogue to ``target`` and lay each overlay folder's files over it."""
    shutil.copytree(BASE, target)
    (target / "competencies").mkdir(exist_ok=True)
    for overlay in overlays:
        for file in overlay.rglob("*.yaml"):
            destination = target / file.relative_to(overlay)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, destination)
    return target


def broken_cases() -> list[str]:
    return sorted(p.name for p in BROKEN.iterdir() if p.is_dir())
