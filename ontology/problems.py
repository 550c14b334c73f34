"""Problems found in a catalogue, reported the way compilers do so editors can jump to them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the catalogue, pinned to the place an editor has to change."""

    path: str
    line: int
    column: int
    message: str
    expected: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}:{self.column}: {self.message}"
        return f"{text} — {self.expected}" if self.expected else text


class CatalogueError(Exception):
    """Raised with every problem at once, so one run shows an editor all there is to fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
