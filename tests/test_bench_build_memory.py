"""bench/build.py's memory figures: each counter must see the memory a process tree really touched."""
from __future__ import annotations

import sys

from bench import build

# Two processes at once, each touching 96 MiB and holding it for a moment, under a parent that holds little.
TWO_CHILDREN = """
import subprocess, sys
hold = "b = bytearray(96 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(1.5)"
children = [subprocess.Popen([sys.executable, "-c", hold]) for _ in range(2)]
sys.exit(max(child.wait() for child in children))
"""


def test_peak_counters_see_each_process_and_sum_the_tree():
    run = build.measure([sys.executable, "-c", TWO_CHILDREN], repeat=1)
    assert run.largest_mib >= 96  # the kernel's ru_maxrss of the biggest process, via the wrapper
    assert run.largest_mib < 2 * 96  # one process, not the tree
    assert run.hwm_sum_mib >= 2 * 96  # every process's own peak, summed over the tree
    assert run.rss_mib >= 2 * 96 and run.pss_mib >= 2 * 96  # both children were sampled while they held it
    assert run.hwm_sum_mib >= run.rss_mib >= run.pss_mib  # the upper bound bounds the sampled figures
    assert run.sample_ms > 0 and len(run.times) == 1


def test_a_failing_command_stops_the_benchmark():
    try:
        build.measure([sys.executable, "-c", "raise SystemExit(3)"], repeat=1)
    except SystemExit as stop:
        assert "failed (3)" in str(stop)
    else:
        raise AssertionError("a failing command was measured as if it had worked")
