"""The engine benchmarks still run (see test_bench_smoke.py for why): only through their command lines.

bench/publish.py runs its smallest honest path (5 competencies into Oxigraph server, one publish). The
smallest run of bench/sparql_engine.py (a fixed 2,000-competency catalogue published into each engine)
and of bench/store_resources.py (tens of seconds of wrk against two servers even at 5 competencies)
costs far more than a few seconds, so for them this only checks that the script loads everything it
imports and reads its options: a moved or renamed module breaks that at once.
"""
from __future__ import annotations

import pytest

from tests.conftest import skip_reason
from tests.engines import oxigraph_binary
from tests.test_bench_smoke import bench, row


@pytest.mark.skipif(oxigraph_binary() is None,
                    reason=skip_reason("the oxigraph server (pip install oxigraph, in the test extra)"))
def test_publish_into_oxigraph():
    output = bench("bench/publish.py", "--sizes", "5", "--engines", "oxigraph", "--runs", "1")
    assert row(output, "| competencies | engine | run | triples |")
    assert row(output, "| 5 | oxigraph | first |")


@pytest.mark.parametrize("command", [("bench/sparql_engine.py",), ("-m", "bench.store_resources")],
                         ids=["sparql_engine", "store_resources"])
def test_engine_benchmark_loads_and_reads_its_options(command):
    """Each as its usage line says (store_resources is run with -m)."""
    assert "--repeat" in bench(*command, "--help")
