"""Soak benchmark (issue 8): resource GETs under mixed SPARQL load, with and without attackers.

One ``ckg serve`` (its defaults: a worker per core x 4 threads) on a synthetic catalogue of 2,000
competencies, on a free 127.0.0.1 port. Two phases of the same load, bounded in time:

1. **plain**: 64 keep-alive connections for 60 s, each sending a 50/50 mix of resource GETs (a random
   competency, level or listing page, in JSON-LD, Turtle or HTML) and varied SPARQL (point lookups,
   label pages, counts, regex filters, and full-scan ``ORDER BY`` over every label);
2. **attacked**: the same, plus a steady trickle of runaway queries (one every 2 s, each one that would
   run far past the time limit) and 32 slow clients (each trickling a body after its
   ``Content-Length``; a closed one is replaced at once).

It reports, per phase: resource-GET p50/p99 and failures, SPARQL answers per status (503 = refused),
what the attackers got, and the peak memory of the server's processes (sum of RSS, and of PSS,
which counts shared copy-on-write pages once) against the memory ceiling the server prints at
start-up, when it prints one. Target: attacked GET p99 at most 2x plain, and no failed GET.

Usage: python bench/soak.py [--seconds 60] [--connections 64] [--size 2000] [--write-results]
"""
from __future__ import annotations

import argparse
import http.client
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import write_section  # noqa: E402
from bench.synthetic import generate  # noqa: E402
from deploy.procs import answers, stop, wait_until  # noqa: E402

SECTION = "## Soak (bench/soak.py)"
CLIENT_TIMEOUT = 30.0
PREFIXES = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX ckg: <https://w3id.org/competency-kg/def#> "
            "PREFIX base: <https://w3id.org/competency-kg/competency/> ")
RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
           "FILTER(STR(?c) != STR(?f) && STR(?f) != STR(?i)) }")
RESOURCE_TYPES = ["application/ld+json", "text/turtle", "text/html"]


def sparql_query(rng: random.Random, size: int) -> str:
    """Varied queries: the cache helps with some, never with all."""
    n = rng.randint(1, size)
    kind = rng.random()
    if kind < 0.3:
        return PREFIXES + f"SELECT ?p ?o WHERE {{ base:synthetic-{n} ?p ?o }}"
    if kind < 0.5:
        return PREFIXES + (f"SELECT ?c ?label WHERE {{ ?c a ckg:Competency ; skos:prefLabel ?label }} "
                           f"LIMIT 50 OFFSET {rng.randrange(0, size, 50)}")
    if kind < 0.65:
        return PREFIXES + ("SELECT ?cluster (COUNT(?c) AS ?n) WHERE { ?c a ckg:Competency ; skos:broader ?cluster } "
                           "GROUP BY ?cluster")
    if kind < 0.8:
        return PREFIXES + (f"SELECT ?c WHERE {{ ?c skos:prefLabel ?l FILTER(CONTAINS(STR(?l), \" {n}\")) }} "
                           f"LIMIT 20")
    return PREFIXES + (f"SELECT ?s ?label WHERE {{ ?s skos:prefLabel ?label }} ORDER BY DESC(?label) ?s "
                       f"LIMIT 20 OFFSET {rng.randrange(0, 1000)}")


def resource_path(rng: random.Random, size: int) -> str:
    n = rng.randint(1, size)
    kind = rng.random()
    if kind < 0.6:
        return f"/competency/synthetic-{n}"
    if kind < 0.9:
        return f"/competency/synthetic-{n}/level/{rng.randint(1, 5)}"
    return f"/competency/?page={rng.randint(1, size // 100)}"


@dataclass
class Phase:
    name: str
    get_latencies: list[float] = field(default_factory=list)
    get_failures: Counter = field(default_factory=Counter)
    sparql: Counter = field(default_factory=Counter)
    runaway: Counter = field(default_factory=Counter)
    slow_opened: int = 0
    slow_answers: Counter = field(default_factory=Counter)
    peak_rss: int = 0
    peak_pss: int = 0
    seconds: float = 0.0

    def p(self, q: float) -> float:
        if not self.get_latencies:
            return float("nan")
        ordered = sorted(self.get_latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _client(port: int, size: int, seed: int, stop: threading.Event, phase: Phase, lock: threading.Lock,
            sparql_share: float) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
    while not stop.is_set():
        is_get = rng.random() >= sparql_share
        if is_get:
            path, headers = resource_path(rng, size), {"Accept": rng.choice(RESOURCE_TYPES)}
        else:
            path = "/sparql?query=" + urllib.parse.quote(sparql_query(rng, size), safe="")
            headers = {"Accept": "application/sparql-results+json"}
        started = time.monotonic()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            status: int | str = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
        elapsed = time.monotonic() - started
        with lock:
            if is_get:
                if status == 200:
                    phase.get_latencies.append(elapsed)
                else:
                    phase.get_failures[status] += 1
            else:
                phase.sparql[status] += 1
    conn.close()


def _runaways(port: int, every: float, stop: threading.Event, phase: Phase, lock: threading.Lock,
              threads: list[threading.Thread]) -> None:
    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            body = urllib.parse.urlencode({"query": RUNAWAY})
            conn.request("POST", "/sparql", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            response.read()
            status: int | str = response.status
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
        finally:
            conn.close()
        with lock:
            phase.runaway[status] += 1

    while not stop.wait(every):
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        threads.append(thread)


def _slow_clients(port: int, count: int, stop: threading.Event, phase: Phase, lock: threading.Lock) -> None:
    socks: list[socket.socket] = []

    def opened() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: soak\r\nContent-Type: application/sparql-query\r\n"
                     b"Content-Length: 100000\r\n\r\nASK {")
        sock.setblocking(False)
        with lock:
            phase.slow_opened += 1
        return sock

    socks = [opened() for _ in range(count)]
    while not stop.wait(0.5):
        for i, sock in enumerate(socks):
            try:
                answer = sock.recv(4096)
            except BlockingIOError:
                answer = None
            except OSError:
                answer = b""
            if answer is not None:  # answered or closed: count it, replace it
                with lock:
                    phase.slow_answers[answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"] += 1
                sock.close()
                socks[i] = opened()
                continue
            try:
                sock.send(b" ")
            except OSError:
                pass
    for sock in socks:
        sock.close()


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def memory(pid: int) -> tuple[int, int]:
    """Sum of RSS and of PSS (bytes) of ``pid`` and its descendants."""
    rss = pss = 0
    for member in _tree(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


def _sample_memory(pid: int, stop: threading.Event, phase: Phase) -> None:
    while not stop.wait(0.5):
        rss, pss = memory(pid)
        phase.peak_rss, phase.peak_pss = max(phase.peak_rss, rss), max(phase.peak_pss, pss)


def run_phase(name: str, port: int, pid: int, args: argparse.Namespace, attackers: bool) -> Phase:
    phase, lock, stop = Phase(name), threading.Lock(), threading.Event()
    threads = [threading.Thread(target=_client, args=(port, args.size, 1000 + i, stop, phase, lock,
                                                            args.sparql_share), daemon=True)
               for i in range(args.connections)]
    threads.append(threading.Thread(target=_sample_memory, args=(pid, stop, phase), daemon=True))
    runaway_threads: list[threading.Thread] = []
    if attackers and args.runaway_every > 0:
        threads.append(threading.Thread(target=_runaways, args=(port, args.runaway_every, stop, phase, lock,
                                                                runaway_threads), daemon=True))
    if attackers and args.slow_clients > 0:
        threads.append(threading.Thread(target=_slow_clients, args=(port, args.slow_clients, stop, phase, lock),
                                        daemon=True))
    drive(phase, threads, args.seconds, stop, also_join=runaway_threads)
    return phase


def _wait_idle(pid: int, limit: float = 60) -> None:
    """Until the server's processes use under 5 % of a core (a query left from the last phase has ended)."""
    ticks = 100.0
    deadline = time.monotonic() + limit

    def used() -> float:
        total = 0
        for member in _tree(pid):
            try:
                fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                pass
        return total / ticks

    while time.monotonic() < deadline:
        before = used()
        time.sleep(1)
        if used() - before < 0.05:
            return


def _start(catalogue: Path, log: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "ckg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                str(catalogue)], cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_until(process, lambda: answers(f"http://127.0.0.1:{port}/competency/synthetic-1", 5), "ckg serve", 600, log,
               every=0.5)
    return process, port


def _ceiling(log: str) -> int | None:
    """The memory ceiling the server printed at start-up, in bytes, if it printed one."""
    found = re.search(r"memory ceiling ([\d,.]+) MiB", log)
    return int(float(found.group(1).replace(",", "")) * 2**20) if found else None


def report(phases: list[Phase], ceiling: int | None, args: argparse.Namespace, startup: str) -> str:
    plain, attacked = phases
    mib = 2**20
    ratio = attacked.p(0.99) / plain.p(0.99) if plain.get_latencies else float("nan")

    def sparql(phase: Phase) -> str:
        return ", ".join(f"{k}: {v:,}" for k, v in sorted(phase.sparql.items(), key=lambda kv: str(kv[0])))

    def failures(phase: Phase) -> str:
        return str(sum(phase.get_failures.values())) + (f" ({dict(phase.get_failures)})" if phase.get_failures else "")

    rows = [("resource GETs answered", f"{len(plain.get_latencies):,}", f"{len(attacked.get_latencies):,}"),
            ("resource GET p50 (ms)", f"{plain.p(0.5):.1f}", f"{attacked.p(0.5):.1f}"),
            ("resource GET p99 (ms)", f"{plain.p(0.99):.1f}", f"{attacked.p(0.99):.1f}"),
            ("failed resource GETs", failures(plain), failures(attacked)),
            ("SPARQL answers by status", sparql(plain), sparql(attacked)),
            ("runaway queries: answers", "-", ", ".join(f"{k}: {v}" for k, v in attacked.runaway.items()) or "-"),
            ("slow clients opened / answers", "-", f"{attacked.slow_opened} / "
             + (", ".join(f"{k}: {v}" for k, v in attacked.slow_answers.items()) or "none yet")),
            ("peak memory, RSS sum (MiB)", f"{plain.peak_rss / mib:,.0f}", f"{attacked.peak_rss / mib:,.0f}"),
            ("peak memory, PSS sum (MiB)", f"{plain.peak_pss / mib:,.0f}", f"{attacked.peak_pss / mib:,.0f}")]
    lines = ["| | plain | attacked |", "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
    verdict_p99 = "met" if ratio <= 2 else "NOT met"
    verdict_fail = "met" if not attacked.get_failures and not plain.get_failures else "NOT met"
    peak = max(attacked.peak_rss, plain.peak_rss)
    ceiling_text = (f"documented ceiling {ceiling / mib:,.0f} MiB: peak RSS sum {'under' if peak <= ceiling else 'OVER'} it"
                    if ceiling else "the server printed no memory ceiling at start-up")
    lines += ["", f"attacked/plain GET p99: {ratio:.2f}x (target <= 2x: {verdict_p99}); no failed GET: {verdict_fail}; "
                  f"{ceiling_text}.", f"Server: {startup}"]
    return "\n".join(lines)


def drive(phase: Phase, threads: list[threading.Thread], seconds: float, stop: threading.Event,
          also_join: list[threading.Thread] = ()) -> None:
    """Start ``threads``, let them run ``seconds``, stop and join them (and ``also_join``, started by them);
    the phase's wall time is recorded, so rates are per second actually run."""
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in [*threads, *also_join]:
        thread.join(CLIENT_TIMEOUT + 5)
    phase.seconds = time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--sparql-share", type=float, default=0.5, help="share of SPARQL in the mix (0 to 1)")
    parser.add_argument("--runaway-every", type=float, default=2.0, help="seconds between runaway queries (0: none)")
    parser.add_argument("--slow-clients", type=int, default=32)
    parser.add_argument("--write-results", action="store_true", help="record the run in bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ckg-soak-") as tmp:
        catalogue = generate(Path(tmp) / "catalogue", args.size)
        log = Path(tmp) / "serve.log"
        process, port = _start(catalogue, log, args)
        try:
            phases = []
            for name, attackers in (("plain", False), ("attacked", True)):
                _wait_idle(process.pid)
                phases.append(run_phase(name, port, process.pid, args, attackers))
                print(f"{name}: done", file=sys.stderr, flush=True)
            startup = " ".join(line.strip() for line in log.read_text().splitlines()
                               if "worker(s)" in line or "memory ceiling" in line)
            text = report(phases, _ceiling(log.read_text()), args, startup)
        finally:
            stop(process, 30)
    print(text)
    if args.write_results:
        command = (f"python bench/soak.py --seconds {args.seconds:g} --connections {args.connections} --size {args.size}"
                   f" --sparql-share {args.sparql_share:g} --runaway-every {args.runaway_every:g}"
                   f" --slow-clients {args.slow_clients} --write-results")
        heading = SECTION if args.sparql_share == 0.5 and args.runaway_every == 2 else f"{SECTION}, variant"
        write_section(f"{heading}\n\n`{command}` ({time.strftime('%Y-%m-%d')}, this 2-core machine, client and "
                      f"server on the same host):\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
