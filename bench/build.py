"""Benchmark: validate, build and export synthetic catalogues of growing size.

For each size it runs the real command line in a fresh process — `ckg validate`, `ckg build -f nt`
and `ckg export` — and records wall time and peak memory (sum of RSS over the process tree, sampled
every 100 ms: an upper bound, since forked writers share pages). Two baselines are measured in the
same run so the figures can be read on any machine:
- read floor: parsing every YAML file with libyaml and nothing else, the least any pipeline pays;
- rdflib Turtle: rdflib parsing our N-Triples dump and writing Turtle, the naive stack's cost for
  one format (skipped above 2,000 competencies: it grows quadratically).

Usage: python bench/build.py [--sizes 50,2000,20000] [--out bench/out]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.synthetic import generate  # noqa: E402

CKG = [sys.executable, "-m", "ckg.cli"]


def _tree_rss_kib(root: int) -> int:
    """Total RSS of ``root`` and its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            pid, ppid = int(entry), int(fields[1])
            rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
            children.setdefault(ppid, []).append(pid)
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def measure(command: list[str], **kwargs) -> tuple[float, float, str]:
    """Seconds, peak MiB and stderr of ``command``; fails loudly if the command fails."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss_kib(process.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return seconds, peak / 1024, stderr


READ_FLOOR = """
import sys, yaml
from pathlib import Path
for f in sorted(Path(sys.argv[1]).rglob('*.yaml')):
    yaml.load(f.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader)
"""
RDFLIB_TURTLE = """
import sys, rdflib
rdflib.Graph().parse(sys.argv[1], format='nt').serialize(sys.argv[2], format='turtle')
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,2000,20000")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        catalogue = args.out / f"synthetic-{size}"
        marker = catalogue / ".complete"
        if not marker.exists():
            generate(catalogue, size)
            marker.touch()
        validate_s, validate_mib, _ = measure([*CKG, "validate", str(catalogue)])
        nt_file = args.out / f"synthetic-{size}.nt"
        build_s, build_mib, _ = measure([*CKG, "build", "-f", "nt", "-o", str(nt_file), str(catalogue)])
        export_s, export_mib, phases = measure([*CKG, "export", "--timings", "--out", str(args.out / f"export-{size}"), str(catalogue)])
        floor_s, _, _ = measure([sys.executable, "-c", READ_FLOOR, str(catalogue)])
        rdflib_s = None
        if size <= 2000:
            rdflib_s, _, _ = measure([sys.executable, "-c", RDFLIB_TURTLE, str(nt_file), str(args.out / "rdflib.ttl")])
        triples = sum(1 for _ in nt_file.open("rb"))
        rows.append((size, triples, validate_s, validate_mib, build_s, build_mib, export_s, export_mib,
                     phases.strip().removeprefix("timings: "), floor_s, rdflib_s))
        print(f"  measured {size} competencies", file=sys.stderr)

    print("| competencies | triples | validate s | validate MiB | build (nt) s | build MiB | export (all) s | export MiB "
          "| export ms per competency | export phases | read floor s | export ÷ floor | rdflib Turtle s | rdflib Turtle ÷ our export |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for size, triples, vs, vm, bs, bm, es, em, phases, floor, rdf in rows:
        rdflib_cells = f"{rdf:.1f} | {rdf / es:.1f}×" if rdf is not None else "— | —"
        print(f"| {size:,} | {triples:,} | {vs:.1f} | {vm:.0f} | {bs:.1f} | {bm:.0f} | {es:.1f} | {em:.0f} | {es / size * 1000:.2f} "
              f"| {phases} | {floor:.1f} | {es / floor:.1f}× | {rdflib_cells} |")
    if len(rows) >= 2:
        (small, *_), (large, *_) = rows[-2], rows[-1]
        growth = (rows[-1][6] / rows[-1][0]) / (rows[-2][6] / rows[-2][0])
        print(f"\nper-competency export time at {large:,} ÷ at {small:,}: {growth:.2f} (1.00 is perfectly linear)")


if __name__ == "__main__":
    main()
