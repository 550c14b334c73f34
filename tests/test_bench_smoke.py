"""The benchmark scripts still run: each on its smallest honest path, through its own command line.

Benchmarks are not tests (their figures go to bench/RESULTS.md), so nothing here judges a figure. But a
script that no test runs breaks silently when the code under it changes (bench/sparql_engine.py did, at
a merge), and is found broken only when someone needs a figure. Each test runs one script as a reader
would, on a tiny catalogue for about a second of load, never with --write-results, and checks that it
exits 0 and prints its table with a row for what it measured. Scripts whose smallest run takes more than
a few seconds are left out (bench/http_load.py, bench/esco_import.py and bench/suggest.py: a 2,000-competency
catalogue or the full ESCO downloads). bench/claims.py has its own test (test_bench_claims.py); the
scripts other engineers own are run by test_bench_smoke_engines.py.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, skip_reason

TIMEOUT = 300


def bench(*args: str) -> str:
    """Run ``python <args>`` in the repository as a reader would; its standard output (the test fails on exit != 0)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def row(output: str, starts: str) -> str:
    """The table row that starts with ``starts`` (the test fails if the script printed none)."""
    found = [line for line in output.splitlines() if line.startswith(starts)]
    assert found, f"no row starting {starts!r} in:\n{output[-2000:]}"
    return found[0]


def test_fuzz_against_a_running_server(live_server):
    output = bench("bench/fuzz.py", "--url", live_server, "--seconds", "1", "--clients", "2")
    assert row(output, "| status | answers |")
    assert "bugs (5xx other than 503, or no answer): 0; plain GET answered afterwards: True" in output


def test_soak_plain_and_attacked():
    output = bench("bench/soak.py", "--seconds", "1", "--size", "5", "--connections", "4", "--slow-clients", "2")
    assert row(output, "| | plain | attacked |")
    assert row(output, "| failed resource GETs | 0 | 0 |")


def test_reload_under_load():
    output = bench("bench/reload.py", "--seconds", "1", "--size", "5", "--connections", "4", "--every", "0.5")
    assert row(output, "steady ") and row(output, "reloading ")
    assert "refused 0" in output  # exit 0 already says: a reload was done and no request failed


def test_build_validate_and_export(tmp_path: Path):
    output = bench("bench/build.py", "--sizes", "5", "--repeat", "1", "--out", str(tmp_path))
    assert row(output, "| competencies | mapping rows | triples |")
    assert row(output, "| 5 | 10 |")


def test_case_packages(tmp_path: Path):
    output = bench("bench/case.py", "--sizes", "5", "--out", str(tmp_path))
    assert row(output, "| competencies | build s |")
    assert row(output, "| 5 |")


def test_release_and_change_set(tmp_path: Path):
    output = bench("bench/release.py", "--sizes", "5", "--changed", "2", "--out", str(tmp_path))
    assert row(output, "| competencies | `ckg release` 1.0.0 (s) |")
    assert row(output, "| 5 |").split("|")[7].strip() == "2"  # resources changed: the two it changed


def test_sparql_analysis_scaling():
    output = bench("bench/sparql_analysis_scaling.py", "--repeat", "1", "--sizes", "4,8")
    assert row(output, "| input | 4 KB µs/KB | 8 KB µs/KB | 8 KB / 4 KB |")
    assert row(output, "| ordinary query |").endswith("x |")


@pytest.mark.skipif(shutil.which("wrk") is None, reason=skip_reason("wrk (apt-get install wrk)"))
def test_replicas_behind_haproxy():
    from deploy.example import haproxy_binary
    if haproxy_binary() is None:
        pytest.skip(skip_reason("haproxy (apt-get install haproxy)"))
    output = bench("bench/replicas.py", "--duration", "1", "--repeat", "1")
    assert row(output, "run 1 resource direct")
    assert "Failover" in output
