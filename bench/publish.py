"""Benchmark: `ckg publish` of synthetic catalogues into Oxigraph server and Virtuoso.

For each size and engine it starts a fresh engine (tests/engines.py: temporary database, free
127.0.0.1 ports) and runs the real command line twice: a first publish into the empty engine, then
a republish of the same catalogue (the case that replaces a current graph readers are using). Each
run is `ckg publish` = check + build + streamed upload into a fresh graph + the pointer switch (and,
on a republish, the clean-up of graphs older than the previous one: none yet on the second run).
Printed per run:
- upload / switch: from the command's own progress lines (the last "triples sent" is the end of
  the upload; the rest of the publish is the switch: two triples, plus the clean-up);
- sum VmHWM: every process of the command's tree sampled from /proc (VmHWM is the kernel's
  high-water mark of each process, so sampling cannot miss a peak; forked workers' shared pages are
  counted in each, so this is an upper bound);
- max ru_maxrss: the kernel's peak resident size of the largest single process (wait4);
- engine VmHWM: the engine's own high-water mark (its process group, from /proc) since it started;
- engine stall signs: lines Virtuoso wrote to its log during the run that announce the stall seen at
  20,000 competencies with too few buffers (``Write wait on column page``, ``Locks are held for a long
  time``; README, "Virtuoso open source");
- uploads sent again: chunks the engine left unanswered past the stall limit, which `ckg publish` sent
  again on a new connection (exports/publish.py, STALL_SECONDS).
A publish that takes longer than ``--limit`` seconds is stopped, and the engine log's tail printed.

Usage: python bench/publish.py [--sizes 2000,20000] [--engines oxigraph,virtuoso] [--runs 2] [--limit 1800]
(run the 20,000 size under `flock /tmp/ckg-heavy.lock`: one heavy benchmark at a time;
tests/test_bench_publish.py runs it at a tiny size so the script cannot break unnoticed).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from bench.synthetic import generate  # noqa: E402
from engines import oxigraph_server, virtuoso_server  # noqa: E402
from conftest import free_port  # noqa: E402


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    children.setdefault(int(handle.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _vm_hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


STALL_SIGNS = re.compile(r"Write wait on column page|Locks are held for a long time")


def _log_lines(log: Path | None) -> list[str]:
    try:
        return log.read_text(errors="replace").splitlines() if log else []
    except OSError:
        return []


def run_publish(command: list[str], env: dict[str, str], limit: float,
                engine_log: Path | None = None) -> tuple[float, str, str, int, int]:
    """(wall seconds, stdout, stderr, sum of VmHWM KiB over the tree, ru_maxrss KiB) of one run.

    A run longer than ``limit`` seconds is killed and reported with the engine log's tail: a stalled
    engine must end the benchmark with its reason, not hold the machine's heavy-benchmark lock for the
    hour of the publish's read timeout.
    """
    peaks: dict[int, int] = {}
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    done = threading.Event()
    stalled = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in _tree(process.pid):
                peaks[pid] = max(peaks.get(pid, 0), _vm_hwm_kib(pid))
            if time.perf_counter() - started > limit and not stalled.is_set():
                stalled.set()
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    out.seek(0), err.seek(0)
    stdout, stderr = out.read().decode(), err.read().decode()
    if stalled.is_set():
        tail = "\n".join(_log_lines(engine_log)[-15:])
        raise SystemExit(f"publish stopped after {limit:g} s (--limit); its last progress lines:\n"
                         f"{stderr[-600:]}\nthe engine's log ends with:\n{tail}")
    if process.returncode != 0:
        raise SystemExit(f"publish failed ({process.returncode}):\n{stderr[-2000:]}")
    return wall, stdout, stderr, sum(peaks.values()), usage.ru_maxrss


def engine_hwm_mib(engine) -> float:
    return sum(_vm_hwm_kib(pid) for pid in _tree(engine.pid)) / 1024 if engine.pid else float("nan")


def measure(engine, catalogue: Path, limit: float) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    env.update(engine.env())
    before = len(_log_lines(engine.log))
    wall, stdout, stderr, hwm, maxrss = run_publish(
        [sys.executable, "-m", "ckg.cli", "publish", "--graph-store", engine.graph_store, str(catalogue)], env,
        limit, engine.log)
    signs = sum(1 for line in _log_lines(engine.log)[before:] if STALL_SIGNS.search(line))
    sent = [(int(m.group(1).replace(",", "")), float(m.group(2)))
            for m in re.finditer(r"current: ([\d,]+) triples sent \(([\d.]+) s\)", stderr)]
    total = float(re.search(r"as the current .* in ([\d.]+) s", stdout).group(1))
    return {"triples": sent[-1][0], "wall": wall, "publish": total, "upload": sent[-1][1],
            "switch": total - sent[-1][1], "hwm": hwm / 1024, "maxrss": maxrss / 1024, "engine": engine_hwm_mib(engine),
            "signs": signs, "resent": stderr.count("did not answer an upload")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--engines", default="oxigraph,virtuoso")
    parser.add_argument("--runs", type=int, default=2, help="publishes per engine: the first, then republishes")
    parser.add_argument("--limit", type=float, default=1800.0, help="seconds one publish may take before it is "
                                                                   "stopped as stalled")
    args = parser.parse_args()
    starters = {"oxigraph": lambda: oxigraph_server(free_port()),
                "virtuoso": lambda: virtuoso_server(free_port(), free_port())}
    print("| competencies | engine | run | triples | wall s (check+build+publish) | upload s | switch + clean-up s | "
          "sum VmHWM MiB | max ru_maxrss MiB | engine VmHWM MiB | engine stall signs | uploads sent again |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with tempfile.TemporaryDirectory(prefix="ckg-bench-publish-") as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            catalogue = generate(Path(folder) / f"synthetic-{size}", size)
            for name in args.engines.split(","):
                with starters[name]() as engine:
                    for run in range(args.runs):
                        row = measure(engine, catalogue, args.limit)
                        print(f"| {size:,} | {name} | {'first' if run == 0 else 'republish'} | {row['triples']:,} | "
                              f"{row['wall']:.1f} | {row['upload']:.1f} | {row['switch']:.2f} | {row['hwm']:,.0f} | "
                              f"{row['maxrss']:,.0f} | {row['engine']:,.0f} | {row['signs']} | {row['resent']} |", flush=True)


if __name__ == "__main__":
    main()
