"""bench/store_first.py still runs, on its smallest honest path, through its own command line.

Five competencies, two releases, published into an Oxigraph server and served by ``ckg serve --store``
and embedded mode (about ten seconds). Nothing here judges a figure (see test_bench_smoke.py): it checks
that the whole set-up and every measured request still work, and that the table has a row for each.
A second run with ``--only measure`` reuses what the first kept (the published engine database).
"""
from __future__ import annotations

import pytest

from tests.conftest import skip_reason
from tests.engines import oxigraph_binary
from tests.test_bench_smoke import bench, row

pytestmark = pytest.mark.skipif(oxigraph_binary() is None,
                                reason=skip_reason("the oxigraph server (pip install oxigraph, in the test extra)"))


def test_first_history_and_case_requests_from_the_engine_and_embedded(tmp_path):
    output = bench("-m", "bench.store_first", "--competencies", "5", "--changed", "2", "--out", str(tmp_path))
    for mode in ("store", "embedded"):
        assert "| 200 |" in row(output, f"| {mode} | first history page: /competency/synthetic-1 ")
        assert row(output, f"| {mode} | first CASE request: CFDocuments | 200 |")
        assert "| 200 |" in row(output, f"| {mode} | CFPackages/")
        assert row(output, f"| {mode} | first feed request: /feed (every release's change set) | 200 |")
        assert "| 200 |" in row(output, f"| {mode} | first download: /downloads/catalogue.nt ")
        assert row(output, f"| {mode} | release file: /release/1.0.0/catalogue.nt | 200 |")
        assert row(output, f"| {mode} | after first CASE request |")
    engine_memory = row(output, "| store | ready (no request yet) |").strip("| ").split(" | ")[-2:]
    assert all(cell.replace(",", "").isdigit() for cell in engine_memory), engine_memory  # the engine's VmRSS, VmHWM
    kept = tmp_path / "store-first-5"
    assert (kept / ".published-current").is_file() and (kept / "result-store.json").is_file()

    again = bench("-m", "bench.store_first", "--competencies", "5", "--changed", "2", "--out", str(tmp_path),
                  "--only", "measure", "--modes", "store")
    assert row(again, "| store | first CASE request: CFDocuments | 200 |")
    assert "| embedded |" not in again
