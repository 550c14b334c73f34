"""Benchmark: import the whole English ESCO from its official CSV zips, and load the result.

Each step runs in a fresh child process (the real ``ckg esco import`` command line, then a
``load_esco_into`` of its output into an empty Oxigraph store), measured from the parent: wall time
with ``time.perf_counter`` and peak memory as the child's ``ru_maxrss`` (``RUSAGE_CHILDREN``, read
after each child alone has been waited for, so the figure is that child's peak). Targets from
issue 4: ≤ 60 s and ≤ 2 GiB for the import.

Usage: python bench/esco_import.py [--esco ../shared/esco] [--out bench/out] [--repeat 3] [--write-results]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_ESCO = ROOT.parent / "shared" / "esco"

from bench.results import RESULTS_FILE, write_section  # noqa: E402

SECTION = "ESCO import"
LOAD = "import sys; from pyoxigraph import Store; from linking.esco import load_esco_into; " \
       "s = Store(); load_esco_into(s, sys.argv[1]); print(len(s))"


_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(json.dumps({'rc': done.returncode, 'seconds': time.perf_counter() - t, 'out': done.stdout, 'err': done.stderr,\n"
    "                  'maxrss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n")


def _run(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB and standard output of ``command`` run as a child process.

    A fresh wrapper process runs the command and reads its own RUSAGE_CHILDREN, so the peak is
    this command's alone (ru_maxrss over children is a maximum, not a sum, and never goes down).
    """
    import json
    wrapper = subprocess.run([sys.executable, "-c", _WRAPPER, *command], cwd=ROOT, capture_output=True, text=True, check=True)
    report = json.loads(wrapper.stdout)
    if report["rc"] != 0:
        sys.exit(f"failed: {' '.join(command)}\n{report['err']}")
    return report["seconds"], report["maxrss_kib"] / 1024, report["out"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--esco", type=Path, default=DEFAULT_ESCO)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-results", action="store_true", help=f"replace the '{SECTION}' section of {RESULTS_FILE}")
    args = parser.parse_args()
    zips = sorted(args.esco.glob("esco-*-classification-en-csv.zip")) + sorted(args.esco.glob("esco-*-relations-csv.zip"))
    if len(zips) != 2:
        sys.exit(f"{args.esco}: expected the ESCO classification and relations CSV zips")
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "esco.nq"
    rows = []
    for round_ in range(args.repeat):
        seconds, mib, output = _run([sys.executable, "-m", "ckg.cli", "esco", "import", *map(str, zips), "--out", str(target), "--quiet"])
        quads = int(re.search(r"([\d,]+) quads", output).group(1).replace(",", ""))
        rows.append(("import (CSV zips → N-Quads)", round_ + 1, seconds, mib, quads))
    for round_ in range(args.repeat):
        seconds, mib, output = _run([sys.executable, "-c", LOAD, str(target)])
        rows.append(("load_esco_into (N-Quads → Store)", round_ + 1, seconds, mib, int(output)))
    size = target.stat().st_size / 2**20
    table = ["| step | run | wall (s) | peak RSS (MiB) | quads |", "|---|---:|---:|---:|---:|"]
    table += [f"| {step} | {run} | {seconds:.1f} | {mib:,.0f} | {quads:,} |" for step, run, seconds, mib, quads in rows]
    best = min(s for step, _, s, _, _ in rows if step.startswith("import"))
    text = "\n".join([
        f"## {SECTION}",
        "",
        f"Command: `python bench/esco_import.py --repeat {args.repeat} --write-results` "
        f"(runs `ckg esco import {' '.join(z.name for z in zips)} --out esco.nq`).",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Peak RSS is the command's ru_maxrss, read by a fresh wrapper process (RUSAGE_CHILDREN).",
        "",
        *table,
        "",
        f"Output: {size:,.0f} MiB of N-Quads. Best import {best:.1f} s against the 60 s / 2 GiB target.",
        "",
    ])
    print(text)
    if args.write_results:
        write_section(text)


if __name__ == "__main__":
    main()
