"""Benchmark: validate, build and export synthetic catalogues of growing size.

For each size it runs the real command line in a fresh process — `ckg validate`, `ckg build -f nt -o`
and `ckg export` — for wall time (the median of `--repeat` runs, 3 by default) with nothing watching
it, then once more for peak memory (watching a run costs CPU, which would distort a timed run on two
cores). Memory is reported four ways, because no single counter is both exact and never missed:
- summed PSS (proportional set size, /proc/PID/smaps_rollup) of the process tree, sampled: a page
  shared by forked writers counts once in total, so this is the memory the command really holds,
  and the figure the 4 GiB target is judged on. A sample of a 2 GiB tree takes the kernel ~0.1–0.3 s,
  so a peak shorter than that can fall between samples; the mean interval is reported with it.
- summed RSS, sampled at the same instants: counts shared pages again in every process.
- Σ VmHWM: each process's own peak RSS, kept by the kernel (/proc/PID/status, read at every sample
  and at most growing), summed over every process seen. Peaks between samples are not missed, and
  since the processes' peaks need not coincide it bounds the tree's true RSS peak — and so its PSS
  peak — from above. When it is under the target, the target holds whatever the sampling missed.
- largest process: ru_maxrss of the biggest single process, from a fresh wrapper's
  getrusage(RUSAGE_CHILDREN) — exact and never missed, but a lower bound for a tree.
The kernel's own peak for the whole tree (a cgroup's memory.peak / max_usage_in_bytes) would be
exact, but on the benchmark machine there is no writable cgroup to put the command in.
`ckg export` is the whole pipeline in one run (it validates, builds and exports), so its column is
the one the issue's target applies to. Two baselines are measured in the same run so the figures
can be read on any machine:
- read floor: parsing every YAML file with libyaml and nothing else, the least any pipeline pays;
- rdflib Turtle: rdflib parsing our N-Triples dump and writing Turtle, the naive stack's cost for
  one format (skipped above 2,000 competencies: it grows quadratically).

Usage: python bench/build.py [--sizes 50,2000,10000,20000] [--repeat 3] [--out bench/out] [--write-results]
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
from bench.results import write_section  # noqa: E402
from bench.synthetic import ensure  # noqa: E402

SECTION = "## Build: validate, build, export (bench/build.py)"

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


def _memory_kib(pid: int) -> tuple[int, int, int]:
    """(PSS, RSS, VmHWM) of one process in KiB; zeros if it has just exited."""
    pss = rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                    break
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss, hwm


def _tree_memory_kib(root: int, peaks: dict[int, int]) -> tuple[int, int]:
    """Summed (PSS, RSS) of the descendants of ``root`` (not ``root`` itself: the measuring wrapper);
    raises each one's entry in ``peaks`` to its VmHWM."""
    children = _children()
    total_pss = total_rss = 0
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        pss, rss, hwm = _memory_kib(pid)
        total_pss, total_rss = total_pss + pss, total_rss + rss
        peaks[pid] = max(peaks.get(pid, 0), hwm)
        todo.extend(children.get(pid, []))
    return total_pss, total_rss


WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""
"""Runs the command and prints the largest ru_maxrss (KiB) of every process below it that was waited for."""


@dataclass
class Run:
    seconds: float
    pss_mib: float
    """Peak summed PSS, sampled: what the target is judged on."""
    rss_mib: float
    """Peak summed RSS, sampled at the same instants."""
    stderr: str
    hwm_sum_mib: float = 0.0
    """Σ of each process's kernel-kept peak RSS (VmHWM): an upper bound of the tree's peak."""
    largest_mib: float = 0.0
    """ru_maxrss of the biggest single process (kernel, never missed): a lower bound."""
    sample_ms: float = 0.0
    """Mean interval between memory samples."""
    times: tuple[float, ...] = ()
    """Every timed run's wall seconds."""

    @property
    def spread(self) -> str:
        return f"{min(self.times):.1f}–{max(self.times):.1f}" if self.times else "—"


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
    if not memory:
        return Run(seconds, 0.0, 0.0, stderr, times=tuple(times))
    peak_pss = peak_rss = samples = 0
    peaks: dict[int, int] = {}
    process = subprocess.Popen([sys.executable, "-c", WRAPPER, *command],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    started = time.perf_counter()
    while process.poll() is None:
        pss, rss = _tree_memory_kib(process.pid, peaks)
        peak_pss, peak_rss, samples = max(peak_pss, pss), max(peak_rss, rss), samples + 1
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    wrapper_stderr = process.stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in the memory run ({process.returncode})")
    largest = int(wrapper_stderr.strip().splitlines()[-1])
    return Run(seconds, peak_pss / 1024, peak_rss / 1024, stderr,
               sum(peaks.values()) / 1024, largest / 1024, elapsed * 1000 / max(1, samples), tuple(times))


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
    mappings: int = 0


def _measure_size(size: int, out: Path, repeat: int) -> Row:
    catalogue = ensure(out / f"synthetic-{size}", size)
    validate = measure([*CKG, "validate", str(catalogue)], repeat=repeat)
    nt_file = out / f"synthetic-{size}.nt"
    build = measure([*CKG, "build", "-f", "nt", "-o", str(nt_file), str(catalogue)], repeat=repeat)
    export = measure([*CKG, "export", "--timings", "--out", str(out / f"export-{size}"), str(catalogue)], repeat=repeat)
    floor_s = measure([sys.executable, "-c", READ_FLOOR, str(catalogue)], memory=False, repeat=repeat).seconds
    rdflib_s = None
    if size <= 2000:
        rdflib_s = measure([sys.executable, "-c", RDFLIB_TURTLE, str(nt_file), str(out / "rdflib.ttl")], memory=False).seconds
    triples = sum(1 for _ in nt_file.open("rb"))
    mappings = sum(1 for line in (catalogue / "mappings" / "esco.sssom.tsv").open(encoding="utf-8")
                   if line.startswith("kg:"))
    return Row(size, triples, validate, build, export, floor_s, rdflib_s, mappings)


def _table(rows: list[Row]) -> list[str]:
    lines = ["| competencies | mapping rows | triples | validate s (min–max) | validate MiB | build (nt) s (min–max) "
             "| build MiB | export (all) s (min–max) | export MiB: PSS; RSS; Σ VmHWM; largest process | sample ms "
             "| export phases | read floor s | export ÷ floor | rdflib Turtle s | rdflib Turtle ÷ our export |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        e = r.export
        rdflib_cells = f"{r.rdflib_s:.1f} | {r.rdflib_s / e.seconds:.1f}×" if r.rdflib_s is not None else "— | —"
        phases = e.stderr.strip().removeprefix("timings: ")
        lines.append(
            f"| {r.size:,} | {r.mappings:,} | {r.triples:,} | {r.validate.seconds:.1f} ({r.validate.spread}) "
            f"| {r.validate.pss_mib:.0f} | {r.build.seconds:.1f} ({r.build.spread}) | {r.build.pss_mib:.0f} "
            f"| {e.seconds:.1f} ({e.spread}) | {e.pss_mib:.0f}; {e.rss_mib:.0f}; {e.hwm_sum_mib:.0f}; {e.largest_mib:.0f} "
            f"| {e.sample_ms:.0f} | {phases} | {r.floor_s:.1f} | {e.seconds / r.floor_s:.1f}× | {rdflib_cells} |")
    return lines


def _growth(rows: list[Row]) -> list[str]:
    """Milliseconds per added competency between consecutive sizes: equal figures mean linear growth.

    Dividing total time by size would count the fixed start-up of a small run as cost per
    competency. The step up from a small catalogue is not comparable either: graphs of up to
    20,000 triples are checked by pyshacl, and writers fork only from 100,000 triples. The verdict
    therefore compares the steps between sizes that take the same path (2,000 and up).
    """
    if len(rows) < 2:
        return []
    lines = ["", "| from → to | validate ms per added competency | build ms | export ms |", "|---|---:|---:|---:|"]
    for small, large in zip(rows, rows[1:]):
        lines.append(f"| {small.size:,} → {large.size:,} | "
                     + " | ".join(f"{_marginal_ms(small, large, c):.2f}" for c in COMMANDS) + " |")
    same_path = [r for r in rows if r.size >= SAME_PATH_FROM]
    if len(same_path) >= 3:
        steps = list(zip(same_path, same_path[1:]))
        (a, b), (c, d) = steps[0], steps[-1]
        ratios = ", ".join(f"{command} {_marginal_ms(c, d, command) / _marginal_ms(a, b, command):.2f}"
                           for command in COMMANDS)
        lines += ["", f"linearity (ms per added competency, {c.size:,} → {d.size:,} ÷ {a.size:,} → {b.size:,}; "
                      f"1.00 is linear): {ratios}"]
    return lines


COMMANDS = ("validate", "build", "export")
SAME_PATH_FROM = 2000


def _marginal_ms(small: Row, large: Row, command: str) -> float:
    return (getattr(large, command).seconds - getattr(small, command).seconds) / (large.size - small.size) * 1000


def _target(rows: list[Row]) -> list[str]:
    """The verdict against issue 2's target, judged on PSS, with the kernel's upper bound beside it."""
    target = next((r for r in rows if r.size == TARGET_SIZE), None)
    if target is None:
        largest = max(rows, key=lambda r: r.size)
        return ["", f"target at {TARGET_SIZE:,} competencies: not measured in this run (largest size "
                    f"{largest.size:,}: export {largest.export.seconds:.1f} s, {largest.export.pss_mib:.0f} MiB PSS, "
                    f"Σ VmHWM {largest.export.hwm_sum_mib:.0f} MiB)."]
    e = target.export
    verdict = "met" if e.seconds <= TARGET_SECONDS and e.pss_mib <= TARGET_MIB else "NOT met"
    bound = ("so it holds whatever the sampling missed" if e.hwm_sum_mib <= TARGET_MIB else
             "which is over the target: the PSS verdict rests on sampling")
    separate = target.validate.seconds + target.build.seconds + e.seconds
    return ["", f"target at {TARGET_SIZE:,} competencies (validate+build+export in one `ckg export` run, "
                f"≤ {TARGET_SECONDS:.0f} s and ≤ {TARGET_MIB:.0f} MiB, judged on summed PSS): {e.seconds:.1f} s, "
                f"{e.pss_mib:.0f} MiB PSS — {verdict}. Summed RSS {e.rss_mib:.0f} MiB; the kernel's per-process "
                f"peaks sum to {e.hwm_sum_mib:.0f} MiB (an upper bound of the tree's peak), {bound}. "
                f"The three commands run one after the other: {separate:.1f} s."]


def report(rows: list[Row], args: argparse.Namespace, command: str) -> str:
    """The RESULTS.md section: how it was measured (written here, so every run keeps it), the tables, the verdict."""
    lines = [SECTION, "",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; load average "
             f"{args.load_start} at the start, {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end — other "
             f"engineers' jobs share these cores, so the times are upper bounds).", "",
             f"Each command is the real `ckg` command line in a fresh process (start-up included). Times are the "
             f"median of {args.repeat} unwatched runs, with the fastest and slowest in brackets. The synthetic "
             f"catalogues (bench/synthetic.py) hold two SSSOM mapping rows to ESCO skills per competency, so the "
             f"mapping code is timed at scale (`mappings=` in the phases).", "",
             "Memory comes from one more run, watched: **summed PSS** of the process tree, sampled every "
             "`sample ms` on average — the memory the command holds, pages shared by the forked writers counted "
             "once; the 4 GiB target is judged on it. Beside it: summed RSS at the same samples (shared pages "
             "counted in every process); **Σ VmHWM**, each process's own peak RSS kept by the kernel and summed "
             "— it cannot miss a peak between samples and bounds the tree's true peak (RSS, so PSS too) from "
             "above; and the largest single process's ru_maxrss (getrusage of a wrapper, a lower bound). A "
             "cgroup's memory.peak would be exact for the tree, but there is no writable cgroup on this machine. "
             "`validate MiB` and `build MiB` are summed PSS.", "",
             "Baselines measured in the same run: *read floor* = parsing every YAML file with libyaml on one "
             "core and nothing else; *rdflib Turtle* = rdflib parsing our N-Triples and writing Turtle (only up "
             "to 2,000 competencies: it grows quadratically).", "",
             *_table(rows), *_growth(rows), *_target(rows), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,2000,10000,20000")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per command; the median is reported")
    parser.add_argument("--write-results", action="store_true", help=f"replace the '{SECTION}' section of RESULTS.md")
    args = parser.parse_args()
    args.load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    command = ("python bench/build.py " + " ".join(sys.argv[1:])).strip()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        rows.append(_measure_size(size, args.out, args.repeat))
        print(f"  measured {size} competencies", file=sys.stderr)
    text = report(rows, args, command)
    print(text)
    if args.write_results:
        write_section(text)


if __name__ == "__main__":
    main()
