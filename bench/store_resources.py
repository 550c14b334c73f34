"""Resource GETs served from an engine (``ckg serve --store``) vs embedded, side by side in one run (issue 11).

Setup: a synthetic catalogue (bench/synthetic.py, 2,000 competencies by default) compiled for the
embedded servers and loaded with ``ckg publish`` into Oxigraph server (started here on 127.0.0.1,
as the tests start it). Four ``ckg serve`` processes (gunicorn, same workers and threads each):
embedded and ``--store``, each with the render cache on (default) and off (``--render-cache 0``).

Workloads (wrk, one Lua script cycling over a fixed list of paths, each thread from its own offset):
- uncached: competencies, competency levels, criteria, clusters and levels, in turn as JSON-LD,
  Turtle, N-Triples, RDF/XML and HTML (suffix twins), on the servers without a render cache: every
  answer is described (embedded: from memory; store: queried from the engine, all but the names of the
  nodes it links to, which each worker keeps once read, as it keeps which nodes are mapped) and written.
  Target: store >= 0.5x embedded.
- cached: 100 of those paths, after a warm-up run, on the servers with the render cache: every answer
  comes from the worker's cache. Target: store = embedded.
Before timing, a sample of answers is fetched from both modes and must be byte-identical (status 200),
so a fast error page can never count. Each workload is run ``--repeat`` times, alternating modes; the
table shows the median and min-max of requests/s and the ratio of the medians.

A second table says where the CPU goes per request (from /proc, so it does not depend on how busy the
shared machine is): the engine's process, the ``ckg serve`` processes (front end) and wrk, plus what
every other process on the machine used meanwhile (the noise). On a machine where everything shares
the same cores, requests/s is about cores / (CPU per request), so this split says what limits the ratio.

With ``--split`` the run takes the shape of a deployment on one machine: every ``ckg serve`` (both modes)
is kept on CPU 0 and Oxigraph server and wrk on the other CPUs, as if the engine and the clients ran on
machines of their own. Both modes then get the same single core for the front end, and the ratio says
how many requests one front-end machine answers from an engine against from memory; without it,
everything shares every core and the engine's own CPU counts against the store mode.

Usage: python -m bench.store_resources [--competencies 2000] [--duration 8] [--connections 8] [--repeat 3] [--split]
(needs wrk, `apt-get install wrk`, and the oxigraph server, `pip install oxigraph`)
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.http_load import busy_seconds, free_port, group_cpu, parse_wrk  # noqa: E402
from bench.synthetic import ensure  # noqa: E402
from engines import oxigraph_server  # noqa: E402

FORMATS = ("jsonld", "ttl", "nt", "rdf", "html")
LUA = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
function setup(thread) thread:set("offset", math.random(1, #paths)) end
function request()
  i = i + 1
  return wrk.format("GET", paths[((offset or 0) + i) %% #paths + 1])
end
"""


def paths(competencies: int, count: int) -> list[str]:
    """Varied resources and formats: a competency, one of its levels, a criterion, a cluster, a level..."""
    out = []
    for n in range(count):
        slug = f"competency/synthetic-{(n * 7919) % competencies + 1}"
        rank, criterion = n % 5 + 1, n % 3 + 1
        resource = (slug, f"{slug}/level/{rank}", f"{slug}/level/{rank}/criterion/{criterion}",
                    f"level/{rank}", slug)[n % 5]
        out.append(f"/{resource}.{FORMATS[(n // 5) % len(FORMATS)]}")
    return out


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@contextmanager
def serve(args: list[str], workers: int, threads: int, log: Path, cpus: set[int] | None = None
          ) -> Iterator[tuple[str, int]]:
    """A ``ckg serve`` on a free port (on ``cpus`` only, if given): its root URL and its process group."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "ckg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--workers", str(workers), "--threads", str(threads), *args],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_on(cpus))
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ckg serve {' '.join(args)} did not start:\n{log.read_text()}")
            try:
                if get(root + "/def.ttl")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        yield root, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _on(cpus: set[int] | None):
    """A ``preexec_fn`` that keeps a child (and what it starts) on ``cpus``; None: anywhere."""
    return None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))


def pin(pid: int, cpus: set[int]) -> None:
    """Keep every thread of a running process on ``cpus`` (threads it starts later inherit it)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(task), cpus)


def wrk(root: str, script: Path, threads: int, connections: int, seconds: float, cpus: set[int] | None = None):
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
                           "--latency", "-s", str(script), root], capture_output=True, text=True, timeout=seconds + 120,
                          preexec_fn=_on(cpus))
    if done.returncode != 0:
        raise RuntimeError(done.stderr or done.stdout)
    result = parse_wrk(done.stdout)
    if result.errors:
        raise RuntimeError(f"{result.errors} failed requests against {root}:\n{done.stdout}")
    return result


@dataclass
class Run:
    """One timed wrk run and the CPU milliseconds per completed request each party used during it."""

    wrk: object
    engine_ms: float
    front_ms: float
    wrk_ms: float
    others_ms: float


def timed(root: str, server_group: int, engine_group: int, script: Path, threads: int, connections: int,
          seconds: float, cpus: set[int] | None = None) -> Run:
    """A wrk run with the CPU of the engine, the front end and wrk itself read before and after."""
    def snapshot() -> tuple[float, float, float, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (sum(group_cpu(engine_group).values()), sum(group_cpu(server_group).values()),
                children.ru_utime + children.ru_stime, busy_seconds())
    before = snapshot()
    result = wrk(root, script, threads, connections, seconds, cpus)
    after = snapshot()
    engine, front, load, busy = (b - a for a, b in zip(before, after))
    per = 1000 / max(result.requests, 1)
    return Run(result, engine * per, front * per, load * per, max(busy - engine - front - load, 0.0) * per)


def _show_failures(work: Path) -> None:
    """After a run that stopped on failed requests, what each server logged about them (the folder goes next)."""
    if sys.exc_info()[0] is None:
        return
    for log in sorted(work.glob("*.log")):
        lines = [line for line in log.read_text(errors="replace").splitlines()
                 if any(word in line for word in ("Error", "error", "Traceback", " 5", " 4"))]
        if lines:
            print(f"--- {log.name} ---", *lines[-20:], sep="\n", file=sys.stderr)


def check_same(embedded: str, store: str, sample: list[str]) -> None:
    for path in sample:
        a, b = get(embedded + path), get(store + path)
        if a[0] != 200 or a != b:
            raise RuntimeError(f"{path}: embedded {a[0]} ({len(a[1])} B), store {b[0]} ({len(b[1])} B): not the same answer")


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--competencies", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--split", action="store_true",
                        help="the deployment's shape on one machine: every ckg serve on CPU 0, Oxigraph server and "
                             "wrk on the other CPUs (as if the engine and the clients had machines of their own), so "
                             "both modes get the same one core for the front end (needs 2+ CPUs)")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if args.split and len(cpus) < 2:
        parser.error("--split needs at least 2 CPUs")
    front_cpus, other_cpus = ({cpus[0]}, set(cpus[1:])) if args.split else (None, None)
    work = Path(tempfile.mkdtemp(prefix="ckg-bench-store-"))
    catalogue = ensure(ROOT / "bench" / "out" / f"synthetic-{args.competencies}", args.competencies)
    varied, warm = work / "varied.txt", work / "cached.txt"
    varied.write_text("\n".join(paths(args.competencies, 5000)) + "\n")
    warm.write_text("\n".join(paths(args.competencies, 100)) + "\n")
    scripts = {}
    for name, listing in (("uncached", varied), ("cached", warm)):
        scripts[name] = work / f"{name}.lua"
        scripts[name].write_text(LUA % listing)
    graph = "https://example.org/bench/current"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)  # the path lists, scripts and server logs
        engine = stack.enter_context(oxigraph_server(free_port()))
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "ckg.cli", "publish", "-q", str(catalogue), "--graph-store",
                        engine.graph_store, "--graph", graph], cwd=ROOT, check=True)
        print(f"published {catalogue.name} into Oxigraph server in {time.monotonic() - started:.1f} s", file=sys.stderr)
        if other_cpus:
            pin(engine.pid, other_cpus)
        store = ["--store", engine.query, "--store-graph", graph]
        servers = {
            ("embedded", "uncached"): [str(catalogue), "--render-cache", "0"],
            ("store", "uncached"): [*store, "--render-cache", "0"],
            ("embedded", "cached"): [str(catalogue)],
            ("store", "cached"): store,
        }
        started_servers = {key: stack.enter_context(serve(argv, args.workers, args.server_threads,
                                                          work / f"{'-'.join(key)}.log", front_cpus))
                           for key, argv in servers.items()}
        roots = {key: root for key, (root, _) in started_servers.items()}
        sample = paths(args.competencies, 5000)[::50]
        for kind in ("uncached", "cached"):
            check_same(roots[("embedded", kind)], roots[("store", kind)], sample)
        stack.callback(_show_failures, work)  # runs before the folder is removed (callbacks run last-in first-out)
        results: dict[tuple[str, str], list[Run]] = {key: [] for key in servers}
        for kind in ("uncached", "cached"):
            if kind == "cached":
                for mode in ("embedded", "store"):
                    wrk(roots[(mode, kind)], scripts[kind], args.threads, args.connections, 15, other_cpus)  # fill every worker's cache
            for run in range(args.repeat):
                for mode in (("embedded", "store") if run % 2 == 0 else ("store", "embedded")):
                    root, group = started_servers[(mode, kind)]
                    results[(mode, kind)].append(timed(root, group, engine.pid, scripts[kind], args.threads,
                                                       args.connections, args.duration, other_cpus))
    command = "python -m bench.store_resources " + " ".join(sys.argv[1:])
    load = os.getloadavg()
    print(f"\n`{command}` — {args.competencies:,} competencies, Oxigraph server on 127.0.0.1, {args.workers} workers x "
          f"{args.server_threads} threads each, wrk {args.threads} threads / {args.connections} connections, "
          f"{args.duration:g} s x {args.repeat} runs (alternating), load average after: {load[0]:.1f}"
          + (f"; split: every ckg serve on CPU {cpus[0]}, engine and wrk on CPU {','.join(map(str, cpus[1:]))}"
             if args.split else "; everything shares every CPU") + "\n")
    print("| workload | embedded req/s median (min-max) | store req/s median (min-max) | store/embedded | "
          "p50 ms embedded / store | p99 ms embedded / store |")
    print("|---|---|---|---|---|---|")
    for kind in ("uncached", "cached"):
        a = [run.wrk for run in results[("embedded", kind)]]
        b = [run.wrk for run in results[("store", kind)]]
        ra, rb = [r.requests_per_s for r in a], [r.requests_per_s for r in b]
        per_run = [y / x for x, y in zip(ra, rb)]
        p = lambda rs, q: statistics.median(r.latency_ms[q] for r in rs)  # noqa: E731
        print(f"| {kind} | {summary(ra)} | {summary(rb)} | {statistics.median(rb) / statistics.median(ra):.2f}x "
              f"(runs {min(per_run):.2f}-{max(per_run):.2f}) | {p(a, '50'):.1f} / {p(b, '50'):.1f} | "
              f"{p(a, '99'):.1f} / {p(b, '99'):.1f} |")
    print("\nCPU milliseconds per request (median of the runs; from /proc): what each party used while wrk ran\n")
    print("| workload | mode | engine | front end (ckg serve) | wrk | ours in all | other processes (noise) |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("uncached", "cached"):
        for mode in ("embedded", "store"):
            runs = results[(mode, kind)]
            m = lambda field: statistics.median(getattr(run, field) for run in runs)  # noqa: E731
            print(f"| {kind} | {mode} | {m('engine_ms'):.2f} | {m('front_ms'):.2f} | {m('wrk_ms'):.2f} | "
                  f"{m('engine_ms') + m('front_ms') + m('wrk_ms'):.2f} | {m('others_ms'):.2f} |")


if __name__ == "__main__":
    main()
