"""Replicas behind HAProxy (issue 11, "Replicas"): what the proxy costs, and what a dying replica costs.

Three setups, all started from deploy/example.py (the same code the README and the tests run), all
replicas ``ckg serve --workers 2 --threads 4`` with the bundled catalogue, on 127.0.0.1:
- direct: wrk → one replica;
- haproxy-1: wrk → HAProxy (deploy/haproxy.cfg with one server) → the same replica;
- haproxy-2: wrk → HAProxy (deploy/haproxy.cfg, two servers) → that replica and a second one.
Workloads (wrk, 64 connections, keep-alive): a competency as JSON-LD (a cached rendered answer: the
cheapest request, so the proxy's share is as large as it gets) and a SPARQL SELECT by GET (a cached
answer). Every run measures the three setups back to back, in a rotating order, and the ratios are
taken within a run; the table gives the median and the range of three runs.

On a 2-core machine two replicas share the cores one replica already fills: this benchmark cannot
show that replicas add throughput (that needs a machine, or a container with its own CPU, per
replica). What it shows is the proxy's own cost, and — in the failover run — that killing a replica
(SIGKILL to its process group, at a third of the run) and restarting it (at two thirds) under the
same 64-connection load costs no request: wrk's non-2xx and socket-error counts.

Usage: python bench/replicas.py [--duration 8] [--repeat 3] [--write-results]   (needs wrk and haproxy)
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_load import WrkResult, group_cpu, run_wrk  # noqa: E402
from bench.results import write_section  # noqa: E402
from deploy.example import Example, example, free_port  # noqa: E402

REPLICA_ARGS = ("--workers", "2", "--threads", "4")
CONNECTIONS = 64
SKOS = "http://www.w3.org/2004/02/skos/core#"
WORKLOADS = {
    "resource": ("competency/klantgerichtheid", "application/ld+json"),
    "sparql": ("sparql?" + urllib.parse.urlencode({"query": f"SELECT ?c ?label WHERE {{ ?c a <{SKOS}Concept> ; "
                                                            f"<{SKOS}prefLabel> ?label }} ORDER BY ?c ?label"}),
               "application/sparql-results+json"),
}
SETUPS = ("direct", "haproxy-1", "haproxy-2")


@dataclass
class Cell:
    run: int
    workload: str
    setup: str
    result: WrkResult
    proxy_ms: float
    """HAProxy's CPU milliseconds per request (0 for direct)."""
    replica_ms: float
    """CPU milliseconds per request of the replicas (masters, workers and query processes)."""


def failover(running: Example, duration: float) -> WrkResult:
    """wrk through HAProxy to two replicas; replica 1 is SIGKILLed at 1/3 of the run and restarted at 2/3."""
    outcome: dict = {}

    def load() -> None:
        path, accept = WORKLOADS["resource"]
        try:
            outcome["result"] = run_wrk(running.url + path, accept, 2, CONNECTIONS, duration)
        except RuntimeError as error:  # said by the main thread, not lost in this one
            outcome["error"] = error

    loader = threading.Thread(target=load)
    loader.start()
    victim = running.replicas[0]
    time.sleep(duration / 3)
    victim.kill(signal.SIGKILL)
    victim.wait_stopped()
    time.sleep(max(0.0, duration / 3 - 0.5))
    victim.start()
    loader.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def failover_seconds(args: argparse.Namespace) -> int:
    """1.5 x --duration, whole: wrk takes no fractions of a second (``-d1.5s`` is a usage error)."""
    return args.duration * 3 // 2


def measure(args: argparse.Namespace) -> tuple[list[Cell], list[WrkResult]]:
    cells: list[Cell] = []
    failovers: list[WrkResult] = []
    with example(2, REPLICA_ARGS) as two:
        one = Example(free_port(), two.replicas[:1], two.folder)
        try:
            one.start_balancer()
            urls = {"direct": two.replicas[0].url, "haproxy-1": one.url, "haproxy-2": two.url}
            for run in range(1, args.repeat + 1):
                order = SETUPS[run % 3:] + SETUPS[:run % 3]
                for workload, (path, accept) in WORKLOADS.items():
                    for setup in order:
                        proxy = {"direct": None, "haproxy-1": one.balancer, "haproxy-2": two.balancer}[setup]
                        groups = [r.process.pid for r in two.replicas]
                        before = _cpu(groups), _cpu([proxy.pid]) if proxy else 0.0
                        result = run_wrk(urls[setup] + path, accept, 2, CONNECTIONS, args.duration)
                        after = _cpu(groups), _cpu([proxy.pid]) if proxy else 0.0
                        per_request = 1000 / max(1, result.requests)
                        cells.append(Cell(run, workload, setup, result, (after[1] - before[1]) * per_request,
                                          (after[0] - before[0]) * per_request))
                        print(f"run {run} {workload:8} {setup:9} {result.requests_per_s:8.0f} req/s  "
                              f"p99 {result.latency_ms['99']:7.1f} ms  errors {result.errors}  "
                              f"CPU ms/req proxy {cells[-1].proxy_ms:.3f} replicas {cells[-1].replica_ms:.3f}", flush=True)
                failovers.append(failover(two, failover_seconds(args)))
                print(f"run {run} failover: {failovers[-1].requests} requests, {failovers[-1].errors} errors", flush=True)
        finally:
            if one.balancer is not None:
                one.replicas = []  # its replica belongs to ``two``, which stops it
                one.stop()
    return cells, failovers


def _cpu(groups: list[int]) -> float:
    """CPU seconds used so far by the process groups ``groups`` (a replica, or HAProxy, each leads its own)."""
    return sum(sum(group_cpu(pgid).values()) for pgid in groups)


def _spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def report(cells: list[Cell], failovers: list[WrkResult], args: argparse.Namespace, command: str) -> str:
    def pick(workload: str, setup: str) -> list[Cell]:
        return [c for c in cells if c.workload == workload and c.setup == setup]

    lines = [
        "## Replicas behind HAProxy (bench/replicas.py)",
        "",
        f"`{command}` — {date.today().isoformat()}, {os.cpu_count()} cores shared with other work, bundled catalogue; "
        f"every replica `ckg serve {' '.join(REPLICA_ARGS)}`; wrk -t2 -c{CONNECTIONS} -d{args.duration:g}s, keep-alive; "
        f"HAProxy {haproxy_version()} with deploy/haproxy.cfg; {args.repeat} runs, median (min–max).",
        "",
        "| workload | setup | req/s | p99 ms | ratio req/s to direct | ratio p99 to direct | HAProxy CPU ms/req "
        "| replicas CPU ms/req | failed requests |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for workload in WORKLOADS:
        direct = {c.run: c.result for c in pick(workload, "direct")}
        for setup in SETUPS:
            found = pick(workload, setup)
            rates = [c.result.requests_per_s for c in found]
            p99s = [c.result.latency_ms["99"] for c in found]
            ratio = [c.result.requests_per_s / direct[c.run].requests_per_s for c in found]
            p99_ratio = [c.result.latency_ms["99"] / direct[c.run].latency_ms["99"] for c in found]
            lines.append(f"| {workload} | {setup} | {_spread(rates, 0)} | {_spread(p99s, 1)} | "
                         f"{_spread(ratio)} | {_spread(p99_ratio)} | {_spread([c.proxy_ms for c in found], 3)} | "
                         f"{_spread([c.replica_ms for c in found], 3)} | {sum(c.result.errors for c in found)} |")
    lines += [
        "",
        f"Failover ({args.repeat} runs, wrk -c{CONNECTIONS} -d{failover_seconds(args)}s on the resource through haproxy-2; "
        "replica 1 SIGKILLed (whole process group) at 1/3, restarted at 2/3): "
        + "; ".join(f"{r.requests:,} requests, {r.errors} failed (non-2xx {r.non_2xx}, socket {sum(r.socket_errors.values())})"
                    for r in failovers) + ".",
        "",
        "CPU per request (from /proc, over each run) depends far less on what else the machine runs than req/s "
        "and p99 here: it is the figure to size a proxy with.",
        "",
        "Two replicas on 2 shared cores cannot show scaling: one replica's two workers already keep both cores busy, "
        "and wrk and HAProxy run on the same cores. haproxy-1 against direct is the proxy's own cost; haproxy-2 "
        "against haproxy-1 is what a second replica adds when it has no CPU of its own (nothing, or less).",
    ]
    return "\n".join(lines) + "\n"


def haproxy_version() -> str:
    import subprocess
    from deploy.example import haproxy_binary
    out = subprocess.run([haproxy_binary() or "haproxy", "-v"], capture_output=True, text=True).stdout
    return out.split()[2] if out else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="whole seconds per wrk run (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--write-results", action="store_true", help="write the table into bench/RESULTS.md")
    args = parser.parse_args()
    command = "python bench/replicas.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    cells, failovers = measure(args)
    text = report(cells, failovers, args, command.strip())
    print(text)
    if args.write_results:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
