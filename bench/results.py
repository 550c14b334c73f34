"""bench/RESULTS.md holds one section per benchmark; each benchmark rewrites only its own."""
from __future__ import annotations

import re
from pathlib import Path

RESULTS_FILE = Path(__file__).resolve().with_name("RESULTS.md")


def write_section(text: str, path: Path = RESULTS_FILE) -> None:
    """Replace the section that ``text`` heads (its first line, ``## …``) up to the next ``## ``, or append it."""
    heading = text.split("\n", 1)[0]
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")
