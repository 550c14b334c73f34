"""bench/claims.py is a benchmark, not a test: this only keeps it runnable against the code as it is.

It imports the compiler lazily inside its measuring functions, so a moved module or a changed return
type shows only when someone runs it; a tiny run here shows it at once.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_claims_runs_on_a_tiny_catalogue(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "bench/claims.py", "--pyshacl-sizes", "3", "--compiled-sizes", "3",
         "--schema-size", "3", "--json-size", "3", "--repeat", "1", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    shacl_row = next(line for line in result.stdout.splitlines() if line.startswith("| 3 |"))
    assert shacl_row.endswith("× |"), shacl_row  # both engines measured, so the ratio is there
    assert "| json.dumps(indent=2) |" in result.stdout
