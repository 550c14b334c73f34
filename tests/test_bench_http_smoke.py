"""bench/http.py is a benchmark, not a test; this only keeps its wrk-output parser and report from rotting."""
from __future__ import annotations

import pytest

from bench import http as bench_http

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:41234/competency/synthetic-1000
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.12ms    1.05ms  41.20ms   88.12%
    Req/Sec     2.58k   210.33     2.95k    71.50%
  Latency Distribution
     50%  950.00us
     75%    3.40ms
     90%    4.10ms
     99%    8.50ms
  51432 requests in 10.00s, 640.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   5142.87
Transfer/sec:     64.01MB
"""

SLOW_OUTPUT = """\
Running 10s test @ http://127.0.0.1:41235/sparql?query=SELECT
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.95s   312.40ms   2.61s    70.00%
    Req/Sec     0.50      0.71     2.00     83.33%
  Latency Distribution
     50%    1.99s
     75%    2.10s
     90%    2.40s
     99%    1.02m
  78 requests in 10.02s, 51.20MB read
Requests/sec:      7.78
Transfer/sec:      5.11MB
"""


def test_parse_wrk_reads_rate_latencies_and_errors():
    result = bench_http.parse_wrk(WRK_OUTPUT)
    assert result.requests_per_s == 5142.87
    assert result.requests == 51432
    assert result.latency_ms["50"] == pytest.approx(0.95)
    assert result.latency_ms["99"] == pytest.approx(8.5)
    assert result.non_2xx == 7
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1}
    assert result.errors == 10


def test_parse_wrk_converts_seconds_and_minutes_and_defaults_errors_to_zero():
    result = bench_http.parse_wrk(SLOW_OUTPUT)
    assert result.requests_per_s == 7.78
    assert result.latency_ms["50"] == pytest.approx(1990.0)
    assert result.latency_ms["99"] == pytest.approx(61200.0)
    assert result.errors == 0


def test_parse_wrk_refuses_output_without_latency_distribution():
    without = WRK_OUTPUT.split("  Latency Distribution")[0] + "Requests/sec:   5142.87\n  51432 requests in 10.00s\n"
    with pytest.raises(ValueError, match="latency distribution"):
        bench_http.parse_wrk(without)
    with pytest.raises(ValueError, match="request rate"):
        bench_http.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_write_section_replaces_only_its_own_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Build\n\nkeep me\n\n## HTTP (bench/http.py)\n\nold\n\n## Later\n\nme too\n")
    bench_http.write_section("## HTTP (bench/http.py)\n\nnew table\n", results)
    text = results.read_text()
    assert "keep me" in text and "me too" in text and "new table" in text and "old" not in text
    assert text.index("## Build") < text.index("new table") < text.index("## Later")
