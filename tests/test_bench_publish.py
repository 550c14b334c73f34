"""bench/publish.py is a benchmark, not a test: this runs it end to end at a tiny size, so the script
that measures publishing into the engines cannot break unnoticed (a changed progress line, a changed
engine fixture) between the rare runs at 20,000 competencies."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import skip_reason
from engines import oxigraph_binary, virtuoso_binary

ROOT = Path(__file__).resolve().parents[1]


def _rows(output: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in output.splitlines()
            if line.startswith("| ") and not line.startswith("| competencies")]


def test_publish_benchmark_measures_both_engines_at_a_tiny_size():
    if not oxigraph_binary() or not virtuoso_binary():
        pytest.skip(skip_reason("oxigraph and virtuoso-t (the engines bench/publish.py measures)"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    result = subprocess.run([sys.executable, "bench/publish.py", "--sizes", "20", "--runs", "2", "--limit", "300"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("20", "oxigraph", "first"), ("20", "oxigraph", "republish"),
        ("20", "virtuoso", "first"), ("20", "virtuoso", "republish")]
    triples = {int(row[3].replace(",", "")) for row in rows}
    assert len(triples) == 1 and triples.pop() > 1000  # the same whole catalogue every run, on both engines
    for row in rows:
        wall, upload, switch = float(row[4]), float(row[5]), float(row[6])
        assert 0 <= upload < wall and switch >= 0  # (a tiny upload may print as 0.0 s)
        ours, largest, engine = (float(cell.replace(",", "")) for cell in row[7:10])
        assert ours > 0 and largest > 0 and engine > 0  # (the sampled sum may miss the last 0.2 s of a tiny run)
        assert row[10:] == ["0", "0"]  # no stall sign in the engine's log, no upload sent again


def test_publish_benchmark_stops_a_publish_that_outlasts_its_limit():
    """A stalled engine must end the benchmark with its reason, not hold the heavy-benchmark lock for an hour."""
    if not oxigraph_binary():
        pytest.skip(skip_reason("oxigraph (the engine bench/publish.py measures)"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    result = subprocess.run([sys.executable, "bench/publish.py", "--sizes", "20", "--engines", "oxigraph", "--runs", "1",
                             "--limit", "0.5"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "publish stopped after 0.5 s (--limit)" in result.stderr
    assert _rows(result.stdout) == []
