"""Benchmark: validate, build and export synthetic catalogues of growing size.

For each size it runs the real command line in a fresh process — `ckg validate`, `ckg build -f nt -o`
and `ckg export` — for wall time (the median of `--repeat` runs, 3 by default) with nothing watching
it, then once more for peak memory: the process tree's summed PSS (proportional set size,
/proc/PID/smaps_rollup) sampled as often as the kernel can answer (a sample of a 2 GiB tree takes
~0.3 s of CPU, which would distort a timed run on two cores). PSS counts a page shared by forked writers once in total, not once per process,
so the sum is the memory the command really holds; the summed RSS, which counts shared pages again
in every process, is printed beside it as an upper bound.
`ckg export` is the whole pipeline in one run (it validates, builds and exports), so its column is
the one the issue's target applies to. Two baselines are measured in the same run so the figures
can be read on any machine:
- read floor: parsing every YAML file with libyaml and nothing else, the least any pipeline pays;
- rdflib Turtle: rdflib parsing our N-Triples dump and writing Turtle, the naive stack's cost for
  one format (skipped above 2,000 competencies: it grows quadratically).

Usage: python bench/build.py [--sizes 50,2000,10000,20000] [--repeat 3] [--out bench/out]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.synthetic import generate  # noqa: E402

CKG = [sys.executable, "-m", "ckg.cli"]


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        found.setdefault(ppid, []).append(int(entry))
    return found


def _memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB; zeros if it has just exited."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def _tree_memory_kib(root: int) -> tuple[int, int]:
    """Summed (PSS, RSS) of ``root`` and all its descendants."""
    children = _children()
    total_pss = total_rss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        pss, rss = _memory_kib(pid)
        total_pss, total_rss = total_pss + pss, total_rss + rss
        todo.extend(children.get(pid, []))
    return total_pss, total_rss


@dataclass
class Run:
    seconds: float
    pss_mib: float
    rss_mib: float
    stderr: str


def measure(command: list[str], *, memory: bool = True, repeat: int = 1) -> Run:
    """Median wall time of ``repeat`` unwatched runs and, with ``memory``, peak tree memory (one more run).

    The median, because on a shared 2-core machine single runs of the same command vary by ±20 %.
    """
    times, stderrs = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        finished = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - started)
        stderrs.append(finished.stderr)
        if finished.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({finished.returncode}):\n{finished.stderr}")
    middle = sorted(range(repeat), key=times.__getitem__)[repeat // 2]
    seconds, stderr = times[middle], stderrs[middle]
    peak_pss = peak_rss = 0
    if memory:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None:
            pss, rss = _tree_memory_kib(process.pid)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            time.sleep(0.05)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed in the memory run ({process.returncode})")
    return Run(seconds, peak_pss / 1024, peak_rss / 1024, stderr)


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


TARGET_SIZE, TARGET_SECONDS, TARGET_MIB = 20_000, 120.0, 4096.0


@dataclass
class Row:
    size: int
    triples: int
    validate: Run
    build: Run
    export: Run
    floor_s: float
    rdflib_s: float | None


def _measure_size(size: int, out: Path, repeat: int) -> Row:
    catalogue = out / f"synthetic-{size}"
    marker = catalogue / ".complete"
    if not marker.exists():
        generate(catalogue, size)
        marker.touch()
    validate = measure([*CKG, "validate", str(catalogue)], repeat=repeat)
    nt_file = out / f"synthetic-{size}.nt"
    build = measure([*CKG, "build", "-f", "nt", "-o", str(nt_file), str(catalogue)], repeat=repeat)
    export = measure([*CKG, "export", "--timings", "--out", str(out / f"export-{size}"), str(catalogue)], repeat=repeat)
    floor_s = measure([sys.executable, "-c", READ_FLOOR, str(catalogue)], memory=False, repeat=repeat).seconds
    rdflib_s = None
    if size <= 2000:
        rdflib_s = measure([sys.executable, "-c", RDFLIB_TURTLE, str(nt_file), str(out / "rdflib.ttl")], memory=False).seconds
    triples = sum(1 for _ in nt_file.open("rb"))
    return Row(size, triples, validate, build, export, floor_s, rdflib_s)


def _print_table(rows: list[Row]) -> None:
    print("| competencies | triples | validate s | validate MiB | build (nt) s | build MiB | export (all) s "
          "| export MiB (PSS; RSS) | export ms per competency | export phases | read floor s | export ÷ floor "
          "| rdflib Turtle s | rdflib Turtle ÷ our export |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        e = r.export
        rdflib_cells = f"{r.rdflib_s:.1f} | {r.rdflib_s / e.seconds:.1f}×" if r.rdflib_s is not None else "— | —"
        phases = e.stderr.strip().removeprefix("timings: ")
        print(f"| {r.size:,} | {r.triples:,} | {r.validate.seconds:.1f} | {r.validate.pss_mib:.0f} | {r.build.seconds:.1f} "
              f"| {r.build.pss_mib:.0f} | {e.seconds:.1f} | {e.pss_mib:.0f}; {e.rss_mib:.0f} | {e.seconds / r.size * 1000:.2f} "
              f"| {phases} | {r.floor_s:.1f} | {e.seconds / r.floor_s:.1f}× | {rdflib_cells} |")


def _print_growth(rows: list[Row]) -> None:
    """Milliseconds per added competency between consecutive sizes: equal figures mean linear growth.

    Dividing total time by size would count the fixed start-up of a small run as cost per
    competency. The step up from a small catalogue is not comparable either: graphs of up to
    20,000 triples are checked by pyshacl, and writers fork only from 100,000 triples. The verdict
    therefore compares the steps between sizes that take the same path (2,000 and up).
    """
    if len(rows) < 2:
        return
    print("\n| from → to | validate ms per added competency | build ms | export ms |")
    print("|---|---:|---:|---:|")
    for small, large in zip(rows, rows[1:]):
        print(f"| {small.size:,} → {large.size:,} | " + " | ".join(f"{_marginal_ms(small, large, c):.2f}" for c in COMMANDS) + " |")
    same_path = [r for r in rows if r.size >= SAME_PATH_FROM]
    if len(same_path) >= 3:
        steps = list(zip(same_path, same_path[1:]))
        (a, b), (c, d) = steps[0], steps[-1]
        ratios = ", ".join(f"{command} {_marginal_ms(c, d, command) / _marginal_ms(a, b, command):.2f}" for command in COMMANDS)
        print(f"\nlinearity (ms per added competency, {c.size:,} → {d.size:,} ÷ {a.size:,} → {b.size:,}; 1.00 is linear): {ratios}")


COMMANDS = ("validate", "build", "export")
SAME_PATH_FROM = 2000


def _marginal_ms(small: Row, large: Row, command: str) -> float:
    return (getattr(large, command).seconds - getattr(small, command).seconds) / (large.size - small.size) * 1000


def _print_target(rows: list[Row]) -> None:
    target = next((r for r in rows if r.size == TARGET_SIZE), None)
    if target is None:
        return
    e = target.export
    verdict = "met" if e.seconds <= TARGET_SECONDS and e.pss_mib <= TARGET_MIB else "NOT met"
    separate = target.validate.seconds + target.build.seconds + e.seconds
    print(f"\ntarget at {TARGET_SIZE:,} competencies (validate+build+export in one `ckg export` run, "
          f"≤ {TARGET_SECONDS:.0f} s and ≤ {TARGET_MIB:.0f} MiB): {e.seconds:.1f} s, {e.pss_mib:.0f} MiB PSS "
          f"({e.rss_mib:.0f} MiB summed RSS) — {verdict}. The three commands run one after the other: {separate:.1f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,2000,10000,20000")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per command; the median is reported")
    args = parser.parse_args()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        rows.append(_measure_size(size, args.out, args.repeat))
        print(f"  measured {size} competencies", file=sys.stderr)
    _print_table(rows)
    _print_growth(rows)
    _print_target(rows)


if __name__ == "__main__":
    main()
