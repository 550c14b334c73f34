"""A catalogue is the files inside its folder: a symbolic link that leads out of it is refused.

A link to ``/etc/passwd`` would otherwise be read as a competency, and its lines echoed in the
error messages; a link to YAML elsewhere would be published as if it were the catalogue's. Links
that stay inside the folder (one competency file shared under two names, say) are fine. The link
is named in the problem, never its target, and the target is never opened.
"""
from __future__ import annotations

from pathlib import Path

from .problems import Problem


def leaves(root: Path, path: Path) -> bool:
    """Whether ``path``, with every link on the way followed, lies outside ``root`` (itself resolved)."""
    try:
        return not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links leads nowhere inside the folder either
        return True


def outside_problem(shown: str) -> Problem:
    return Problem(shown, 1, 1, "symbolic link to a file outside the catalogue folder; it was not read",
                   "a file inside the catalogue folder (copy the file in instead of linking to it)")
