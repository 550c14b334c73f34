"""Benchmark: SPARQL through our endpoint in front of an engine (``ckg serve --store``) vs the engine directly.

Issue 11's target: our endpoint answers at >= 0.9x the throughput of the same queries sent to the
engine itself. For each engine (Oxigraph server, Virtuoso; tests/engines.py starts each on free
127.0.0.1 ports with a fresh database), the synthetic catalogue of 2,000 competencies is loaded by
the real ``ckg publish``, then ``ckg serve --store`` is started in front of it (2 workers, default
SPARQL slots), and wrk drives, in turns:
- direct: GET on the engine's query endpoint, with ``default-graph-uri`` = the catalogue graph (the
  dataset our endpoint gives a query that names none);
- ours: GET on our ``/sparql``.
Both are sent the same stream of queries: pages of the ordered SELECT of bench/http_load.py
(``ORDER BY ?c ?label LIMIT L OFFSET O``, L in 1,000..4,000, O in 0..999) where no request repeats
an earlier one (bench/http_load.py's numbering, runs SPACING apart), so neither our answer cache nor any
engine cache can help. Answers are JSON (SPARQL results) on both sides, and the engine writes JSON on
both sides too: our endpoint asks the engine for the client's own format (service/sparql/upstream.py),
so the engine does the same work for a direct client and for us (an engine that writes one format
faster than another, as Virtuoso writes XML faster than JSON, would otherwise skew the ratio). One page
is checked to have the same rows both ways before anything is timed, and wrk's non-2xx / socket
errors are reported with each figure.

Runs alternate direct/ours, ``--repeat`` times (default 3); the table shows the median and the
min-max of requests per second, and the ratio of the medians. The engine and our server share the
machine's cores: whatever CPU our endpoint spends (parsing the engine's answer and writing the
client's) is CPU the engine does not get, which the direct runs never pay.

On a shared machine the throughput of one run depends on what else runs meanwhile, so each run also
records CPU per answer (from /proc: the engine's process tree, and ours, the gunicorn master and its
workers), which other people's work does not change: *CPU ratio* = the engine's CPU per direct answer
÷ (engine + our server's CPU per answer through us): the throughput ratio both sides would have on a
CPU-bound machine where nothing else runs.

Usage: python bench/sparql_engine.py [--engines oxigraph,virtuoso] [--connections 4] [--duration 20]
       [--repeat 3] [--write-results]   (needs wrk: apt-get install wrk)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.http_load import PAGE_LUA, SELECT_PAGE, SPACING, VARY_LUA, WrkResult, load_average, run_wrk  # noqa: E402
from bench.http_load import climb, processes  # noqa: E402
from bench.results import write_section  # noqa: E402
from bench.synthetic import ensure  # noqa: E402
from conftest import free_port, start_server  # noqa: E402
from engines import Engine, oxigraph_server, virtuoso_server  # noqa: E402
from exports.publication import current_graph  # noqa: E402

SIZE = 2000
SECTION = "## SPARQL through our endpoint vs the engine directly (bench/sparql_engine.py)"
SPARQL_JSON = "application/sparql-results+json"


def catalogue_base(catalogue: Path) -> str:
    from competency_kg.compile import compile_catalogue
    return str(compile_catalogue(catalogue).catalogue.base)  # what `ckg publish` names the graph by default


def publish(engine: Engine, catalogue: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
    environment.update(engine.env())
    done = subprocess.run([sys.executable, "-m", "ckg.cli", "publish", "--graph-store", engine.graph_store,
                           str(catalogue)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"ckg publish into {engine.name} failed:\n{done.stderr}")
    print(f"  {done.stdout.strip().splitlines()[-1]}", flush=True)


def script(folder: Path, path_prefix: str) -> Path:
    """The wrk script: bench/http_load.py's numbering and pages, after ``path_prefix`` (which ends in query=…)."""
    target = folder / f"vary-{abs(hash(path_prefix))}.lua"
    target.write_text(VARY_LUA + PAGE_LUA.replace("QUERY_PATH", path_prefix), encoding="utf-8")
    return target


def rows(url: str) -> list[tuple]:
    request = urllib.request.Request(url, headers={"Accept": SPARQL_JSON})
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.load(response)
    return [tuple(sorted((k, v["value"], v.get("xml:lang", "")) for k, v in row.items()))
            for row in body["results"]["bindings"]]


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by process ``root`` and every process below it (from /proc)."""
    table = processes()
    return sum(p.seconds for pid, p in table.items() if climb(pid, root, table, limit=16)[0] == root)


@dataclass
class Run:
    """One timed wrk run and the CPU spent per good answer meanwhile (ms): by the engine, by our server."""

    wrk: WrkResult
    engine_ms: float
    ours_ms: float


def measure(engine: Engine, ours: str, base_graph: str, args: argparse.Namespace, folder: Path,
            first_base: int) -> dict[str, list[Run]]:
    query = urllib.parse.quote(SELECT_PAGE)
    engine_url = urllib.parse.urlsplit(engine.query)
    direct_prefix = f"{engine_url.path}?default-graph-uri={urllib.parse.quote(base_graph, safe='')}&query={query}"
    ours_prefix = f"/sparql?query={query}"
    sample = "%20LIMIT%20999%20OFFSET%200"  # the timed pages have 1,000 rows or more: this one is never timed
    direct_rows = rows(f"{engine_url.scheme}://{engine_url.netloc}{direct_prefix}{sample}")
    our_rows = rows(ours.rstrip("/") + ours_prefix + sample)
    if direct_rows != our_rows or len(our_rows) != 999:
        raise RuntimeError(f"{engine.name}: our endpoint and the engine disagree on a page "
                           f"({len(our_rows)} vs {len(direct_rows)} rows)")
    scripts = {"direct": (f"{engine_url.scheme}://{engine_url.netloc}/", script(folder, direct_prefix)),
               "ours": (ours, script(folder, ours_prefix))}
    results: dict[str, list[Run]] = {"direct": [], "ours": []}
    base = first_base
    for name, (url, lua) in scripts.items():  # warm-up, not recorded
        run_wrk(url, SPARQL_JSON, args.threads, args.connections, 2, lua, base)
        base += SPACING
    for run in range(args.repeat):
        for name in (("direct", "ours") if run % 2 == 0 else ("ours", "direct")):
            url, lua = scripts[name]
            time.sleep(args.settle)  # queries wrk abandoned at the end of the last run finish first
            engine_before, ours_before = tree_cpu(engine.pid), tree_cpu(ours.pid)
            result = run_wrk(url, SPARQL_JSON, args.threads, args.connections, args.duration, lua, base)
            answers = max(1.0, good(result) * args.duration)
            timed = Run(result, (tree_cpu(engine.pid) - engine_before) * 1000 / answers,
                        (tree_cpu(ours.pid) - ours_before) * 1000 / answers)
            base += SPACING
            results[name].append(timed)
            print(f"  {engine.name} {name:6} run {run + 1}: {good(result):8.1f} answers/s, "
                  f"p50 {result.latency_ms.get('50', 0):.1f} ms, errors {result.errors}, CPU ms/answer engine "
                  f"{timed.engine_ms:.1f} ours {timed.ours_ms:.1f}", flush=True)
    return results


def good(result: WrkResult) -> float:
    """Answers per second that were answers: a 503 from a full queue is quick, and must not count as throughput."""
    return result.requests_per_s * (1 - result.errors / result.requests) if result.requests else 0.0


def cell(results: list[Run]) -> str:
    rates = [good(r.wrk) for r in results]
    return f"{statistics.median(rates):,.1f} ({min(rates):,.1f}–{max(rates):,.1f})"


def report(table: dict[str, dict[str, list[Run]]], args: argparse.Namespace, command: str) -> str:
    lines = [SECTION, "",
             f"Command: `{command}` (synthetic catalogue of {SIZE:,} competencies; wrk {args.threads} threads, "
             f"{args.connections} connections, {args.duration:g} s per run, {args.repeat} runs alternating; "
             f"run {table['_started']}; load average before: {table['_load']}, after: {table['_load_after']}). "
             f"The machine is shared with other engineers' work: compare figures within one run only, and read "
             f"the CPU ratio where the machine was loaded.",
             "",
             "| engine | direct answers/s, median (min–max) | ours answers/s, median (min–max) | ours / direct "
             "| p50 ms direct / ours | errors direct / ours | CPU ms per answer: direct (engine) / ours (engine + "
             "our server) | CPU ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for name, results in table.items():
        if name.startswith("_"):
            continue
        direct, ours = results["direct"], results["ours"]
        direct_rate = statistics.median(good(r.wrk) for r in direct)
        ratio = statistics.median(good(r.wrk) for r in ours) / direct_rate if direct_rate else float("nan")
        p50 = (f"{statistics.median(r.wrk.latency_ms.get('50', 0) for r in direct):.1f} / "
               f"{statistics.median(r.wrk.latency_ms.get('50', 0) for r in ours):.1f}")
        errors = f"{sum(r.wrk.errors for r in direct)} / {sum(r.wrk.errors for r in ours)}"
        verdict = "meets" if ratio >= 0.9 else "misses"
        direct_cpu = statistics.median(r.engine_ms for r in direct)
        ours_engine, ours_own = statistics.median(r.engine_ms for r in ours), statistics.median(r.ours_ms for r in ours)
        cpu_ratio = direct_cpu / (ours_engine + ours_own) if ours_engine + ours_own else float("nan")
        lines.append(f"| {name} | {cell(direct)} | {cell(ours)} | {ratio:.2f}x ({verdict} >= 0.9x) | {p50} | {errors} "
                     f"| {direct_cpu:.1f} / {ours_engine:.1f} + {ours_own:.1f} | {cpu_ratio:.2f}x |")
    lines += ["", "Queries: pages of the ordered SELECT of every competency and its labels (`ORDER BY ?c ?label "
                  "LIMIT L OFFSET O`, L 1,000–4,000), never the same page twice, JSON results; direct runs send "
                  "`default-graph-uri` = the catalogue graph, as our endpoint does. Like with like: the direct "
                  "client asks the engine for SPARQL JSON, and so does our endpoint (it asks for the client's "
                  "format), then parses it (pyoxigraph) and writes the client's JSON with the embedded writer "
                  "and its exact row and byte caps, on the same two cores the engine runs on."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engines", default="oxigraph,virtuoso")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4,
                        help="concurrent requests; default 4 = our 2 workers x 2 SPARQL slots, so both sides run "
                             "as many queries at once")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of rest before each run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    command = "python bench/sparql_engine.py " + " ".join(sys.argv[1:])
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    catalogue = ensure(out / f"synthetic-{SIZE}", SIZE)
    base_graph = catalogue_base(catalogue)
    table: dict = {"_load": load_average()}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="ckg-bench-sparql-") as folder:
        for index, name in enumerate(args.engines.split(",")):
            print(f"{name}: starting, publishing {SIZE:,} competencies", flush=True)
            with ExitStack() as stack:
                starter = oxigraph_server(free_port()) if name == "oxigraph" else virtuoso_server(free_port(),
                                                                                                   free_port())
                engine = stack.enter_context(starter)
                publish(engine, catalogue)
                ours = stack.enter_context(start_server("--workers", "2", "--store", engine.query))
                time.sleep(1)
                # the graph `ckg publish` made current (exports.publication), which our endpoint reads too
                current = current_graph(engine.query, base_graph)
                table[name] = measure(engine, ours, current, args, Path(folder), index * 10 * SPACING)
    table["_started"], table["_load_after"] = started, load_average()
    text = report(table, args, command)
    print("\n" + text)
    if args.write_results:
        write_section(text)


if __name__ == "__main__":
    main()
