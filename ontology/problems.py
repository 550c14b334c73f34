"""Problems found in a catalogue, reported the way compilers do so editors can jump to them."""
from __future__ import annotations

import re
from dataclasses import dataclass

_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _shown(text: str) -> str:
    """``text`` with control characters as escapes: a message must not drive the terminal it is printed on."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


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
        return _shown(f"{text} — {self.expected}" if self.expected else text)


class CatalogueError(Exception):
    """Raised with every problem at once, so one run shows an editor all there is to fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
