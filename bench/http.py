"""HTTP benchmark of the Linked Data service (issue 3, "Performance"), against baselines in the same run.

Servers, started one after another on free 127.0.0.1 ports with the same worker settings as
``ckg serve`` (gunicorn, 2 workers, the worker class and thread count ``ckg serve`` picks):
- ours: ``ckg serve`` on a synthetic catalogue of 2,000 competencies;
- hello: a one-route Flask app (bench/baselines/hello.py), the floor of any Flask app;
- rdflib-endpoint: the PyPI package serving the same graph (uvicorn, 2 workers);
- bare pyoxigraph: Flask handing the query straight to pyoxigraph (bench/baselines/bare_oxigraph.py),
  the in-process limit of a SPARQL answer.

Workloads: (a) GET /competency/synthetic-1000 as JSON-LD (ours vs hello); (b) GET /sparql with the
SELECT of every competency and its labels as SPARQL JSON (ours vs rdflib-endpoint vs bare pyoxigraph).
Every answer is checked (status, media type, same rows as the store itself gives) before it is
timed, so a fast error page can never count as throughput; wrk's non-2xx and socket-error counts
are reported with each figure. Load: wrk (Debian package), bounded by connections and duration.

Noise: the machine may be shared, so the timed runs take turns across servers, each waits until
the servers are idle, and each records the CPU its server used per request and the CPU everything
else used meanwhile (a run disturbed by other processes is tried again).

Usage: python bench/http.py [--threads N] [--connections 16] [--duration 10] [--repeat 3] [--write-results]
(needs wrk, `apt-get install wrk`, and the `bench` extra: `pip install -e '.[bench]'`)
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# standard library's ``http`` package (which urllib needs): put the repository there instead.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from bench.results import RESULTS_FILE, write_section  # noqa: E402

BIN = Path(sys.executable).parent
SIZE = 2000
SLUG = "synthetic-1000"
JSONLD = "application/ld+json"
SPARQL_JSON = "application/sparql-results+json"
SELECT_LABELS = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                 "PREFIX ckg: <https://w3id.org/competency-kg/def#> "
                 "SELECT ?c ?label WHERE { ?c a ckg:Competency ; skos:prefLabel ?label }")
SECTION = "## HTTP (bench/http.py)"


# ---------------------------------------------------------------- wrk output


@dataclass
class WrkResult:
    """What one wrk run measured: throughput, latency percentiles (ms) and anything that went wrong."""

    requests_per_s: float
    requests: int
    latency_ms: dict[str, float]
    """Percentile ("50", "75", "90", "99") to milliseconds, from ``--latency``."""
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read wrk's ``--latency`` report; raises ValueError when a figure it always prints is missing."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    if not rate or not total:
        raise ValueError(f"wrk printed no request rate; its output was:\n{output}")
    block = output.split("Latency Distribution", 1)
    if len(block) != 2:
        raise ValueError(f"wrk printed no latency distribution (run it with --latency):\n{output}")
    latency = {pct: _duration_ms(value)
               for pct, value in re.findall(r"^\s+(\d+(?:\.\d+)?)%\s+([\d.]+[a-z]+)\s*$", block[1], re.M)}
    if "50" not in latency or "99" not in latency:
        raise ValueError(f"wrk's latency distribution lacks p50/p99:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()))) if sockets else {}
    return WrkResult(float(rate.group(1)), int(total.group(1)), latency,
                     int(non_2xx.group(1)) if non_2xx else 0, socket_errors)


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, accept: str | None, timeout: float = 120) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of a GET (HTTP errors are answers too, not exceptions)."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


@dataclass
class Server:
    """One server under test: how to start it and the URL that says it is ready."""

    name: str
    command: list[str]
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    ready_log: tuple[str, int] | None = None
    """A line the log must hold so many times before the server counts as ready (one per worker)."""
    port: int = 0
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, logs: Path, timeout: float = 300) -> None:
        """Start in its own process group and wait until ``ready_path`` answers 200."""
        self.log = logs / f"{self.name.replace(' ', '-')}.log"
        handle = self.log.open("wb")
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
                                        stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}) before it answered; "
                                   f"its log:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                if get(self.root + self.ready_path, None, timeout=5)[0] == 200 and self._all_workers_up():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s; see {self.log}")

    def _all_workers_up(self) -> bool:
        if self.ready_log is None or self.log is None:
            return True
        line, count = self.ready_log
        return self.log.read_text(errors="replace").count(line) >= count

    def stop(self) -> None:
        """TERM the whole process group (workers and their query processes), KILL it if it lingers."""
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.process = None


def gunicorn(module: str, workers: int, threads: int) -> list[str]:
    """gunicorn with the settings service/server.py gives ``ckg serve`` (workers, class, threads, preload)."""
    return [str(BIN / "gunicorn"), "--bind", "127.0.0.1:{port}", "--workers", str(workers),
            "--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads),
            "--preload", "--keep-alive", "5", "--graceful-timeout", "5", "--log-level", "warning", module]


# ---------------------------------------------------------------- workloads and checks


def sparql_rows(body: bytes) -> set[tuple[str, str]]:
    """The (competency, label@lang) pairs of a SPARQL JSON answer to SELECT_LABELS."""
    bindings = json.loads(body)["results"]["bindings"]
    return {(b["c"]["value"], f'{b["label"]["value"]}@{b["label"].get("xml:lang", "")}') for b in bindings}


def expected_rows(nt_file: Path) -> set[tuple[str, str]]:
    """The answer to SELECT_LABELS computed by pyoxigraph directly, the reference every server must match."""
    from pyoxigraph import QueryResultsFormat, RdfFormat, Store
    store = Store()
    with nt_file.open("rb") as handle:
        store.bulk_load(handle, format=RdfFormat.N_TRIPLES)
    return sparql_rows(store.query(SELECT_LABELS).serialize(format=QueryResultsFormat.JSON))


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    path: str
    accept: str


def check_answer(server: Server, workload: Workload, reference: set[tuple[str, str]]) -> str:
    """Refuse to time a server whose answer is wrong; returns a one-line description of the good answer."""
    status, content_type, body = get(server.root + workload.path, workload.accept)
    if status != 200:
        raise RuntimeError(f"{server.name} answered {workload.key} with {status}: {body[:300]!r}")
    if workload.key == "sparql":
        if not content_type.startswith(SPARQL_JSON):
            raise RuntimeError(f"{server.name} answered the SELECT as {content_type!r}, not {SPARQL_JSON}")
        rows = sparql_rows(body)
        if rows != reference:
            raise RuntimeError(f"{server.name}'s SELECT answer differs from the store's: {len(rows)} rows against "
                               f"{len(reference)}, {len(rows ^ reference)} differ")
        return f"{len(rows):,} rows, {len(body) / 1024:.0f} KiB"
    if workload.key == "competency" and server.name != "hello":
        if not content_type.startswith(JSONLD):
            raise RuntimeError(f"{server.name} answered the competency as {content_type!r}, not {JSONLD}")
        text = body.decode("utf-8")
        json.loads(text)
        if f"competency/{SLUG}" not in text:
            raise RuntimeError(f"{server.name}'s JSON-LD does not mention competency/{SLUG}")
    return f"{len(body) / 1024:.1f} KiB"


def run_wrk(url: str, accept: str, threads: int, connections: int, seconds: float) -> WrkResult:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", "--latency",
               "-H", f"Accept: {accept}", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


_TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds used so far by each process of process group ``pgid``, by depth below its leader.

    Depth 0 is the server's master, 1 its web workers, 2 what the workers fork (our query processes).
    """
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid:
            parents[int(entry)] = int(fields[1])
            seconds[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
    by_depth: dict[int, float] = {}
    for pid, cpu in seconds.items():
        depth, node = 0, pid
        while node != pgid and node in parents and depth < 8:
            node, depth = parents[node], depth + 1
        by_depth[depth] = by_depth.get(depth, 0.0) + cpu
    return by_depth


@dataclass
class CpuShare:
    """Where the CPU went during one timed run, in CPU milliseconds per completed request and in cores."""

    server_ms_per_request: dict[int, float]
    """By depth below the server's master (1 = web workers, 2 = processes they fork)."""
    load_generator_cores: float
    other_cores: float
    """Cores used by everything else on the machine: other people's work disturbs the figure."""


def timed_wrk(server: "Server", url: str, accept: str, args: argparse.Namespace,
              duration: float) -> tuple[WrkResult, CpuShare]:
    """One timed wrk run, with the CPU used by the server, by wrk and by anything else meanwhile."""
    import resource
    pgid = server.process.pid
    server_before, busy_before, clock = group_cpu(pgid), busy_seconds(), time.monotonic()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_wrk(url, accept, args.wrk_threads, args.connections, duration)
    elapsed, busy = time.monotonic() - clock, busy_seconds() - busy_before
    server_after = group_cpu(pgid)
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk = (children_after.ru_utime + children_after.ru_stime) - (children_before.ru_utime + children_before.ru_stime)
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    server_cpu = {depth: server_after.get(depth, 0.0) - server_before.get(depth, 0.0) for depth in server_after}
    completed = max(1, result.requests)
    return result, CpuShare({depth: cpu * 1000 / completed for depth, cpu in server_cpu.items() if cpu > 0},
                            wrk / elapsed, max(0.0, busy - sum(server_cpu.values()) - wrk - own) / elapsed)


# ---------------------------------------------------------------- the run


@dataclass
class Row:
    workload: Workload
    server: str
    runs: list[WrkResult]
    cpu: list[CpuShare]
    answer: str
    duration: float
    """Seconds per timed run (longer for slow servers, see ``--slow-duration``)."""

    @property
    def median_index(self) -> int:
        ordered = sorted(range(len(self.runs)), key=lambda i: self.runs[i].requests_per_s)
        return ordered[len(ordered) // 2]

    @property
    def median(self) -> WrkResult:
        """The run with the median request rate (its latencies and CPU figures are reported with it)."""
        return self.runs[self.median_index]


def prepare(out: Path) -> tuple[Path, Path]:
    """The synthetic catalogue (reused when complete) and a fresh N-Triples dump of its graph."""
    from bench.synthetic import generate
    catalogue = out / f"synthetic-{SIZE}"
    marker = catalogue / ".complete"
    if not marker.exists():
        generate(catalogue, SIZE)
        marker.touch()
    nt_file = out / f"synthetic-{SIZE}.nt"
    with tempfile.NamedTemporaryFile(dir=out, suffix=".nt", delete=False) as tmp:
        partial = Path(tmp.name)
    try:  # written aside and renamed, so bench/build.py reading the same file never sees half of it
        subprocess.run([str(BIN / "ckg"), "build", "-f", "nt", "-o", str(partial), str(catalogue)], check=True,
                       cwd=ROOT)
        partial.replace(nt_file)
    finally:
        partial.unlink(missing_ok=True)
    return catalogue, nt_file


def servers(catalogue: Path, nt_file: Path, workers: int, threads: int) -> list[tuple[Server, list[str]]]:
    """Each server with the workloads it is measured on."""
    sparql_ready = "/sparql?" + urllib.parse.urlencode({"query": "ASK {}"})
    env = {"BENCH_NT": str(nt_file.resolve())}
    return [
        (Server("ours", [str(BIN / "ckg"), "serve", "--host", "127.0.0.1", "--port", "{port}", "--workers",
                         str(workers), "--threads", str(threads), str(catalogue)], f"/competency/{SLUG}"),
         ["competency", "sparql"]),
        (Server("hello", gunicorn("bench.baselines.hello:app", workers, threads), "/"), ["competency"]),
        (Server("rdflib-endpoint", [str(BIN / "uvicorn"), "bench.baselines.rdflib_endpoint_app:app", "--host",
                                    "127.0.0.1", "--port", "{port}", "--workers", str(workers), "--no-access-log"],
                sparql_ready, env, ready_log=("Application startup complete", workers)),
         ["sparql"]),
        (Server("bare pyoxigraph", gunicorn("bench.baselines.bare_oxigraph:app", workers, threads), sparql_ready, env),
         ["sparql"]),
    ]


def measure(args: argparse.Namespace) -> tuple[list[Row], dict[str, str]]:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    catalogue, nt_file = prepare(out)
    reference = expected_rows(nt_file)
    triples = sum(1 for _ in nt_file.open("rb"))
    query_path = "/sparql?" + urllib.parse.urlencode({"query": SELECT_LABELS})
    workloads = {
        "competency": Workload("competency", f"(a) GET /competency/{SLUG} as JSON-LD", f"/competency/{SLUG}", JSONLD),
        "sparql": Workload("sparql", "(b) SPARQL SELECT of all competencies + labels", query_path, SPARQL_JSON),
    }
    logs = Path(tempfile.mkdtemp(prefix="bench-http-"))
    load_start = load_average()
    started: list[Server] = []
    cells: list[tuple[Server, Workload, str, str]] = []  # server, workload, URL, checked answer
    try:
        # Started one after another, then all kept up (idle servers cost no CPU) so that the timed runs
        # can take turns: a burst of someone else's work then slows every server a little, not one a lot.
        for server, keys in servers(catalogue, nt_file, args.workers, args.threads):
            server.port = free_port()
            print(f"starting {server.name} on port {server.port} …", file=sys.stderr, flush=True)
            started.append(server)
            server.start(logs)
            for key in keys:
                workload = workloads[key]
                probe = Workload(key, workload.title, "/", "text/plain") if server.name == "hello" else workload
                answer = check_answer(server, probe, reference)
                cells.append((server, workload, server.root + probe.path, answer))
        durations: list[float] = []
        for server, workload, url, _ in cells:
            settle(started)
            warm = run_wrk(url, workload.accept, args.wrk_threads, args.connections, args.warmup)
            # A server answering a few requests a second completes them in bursts (all connections'
            # requests finish together): a short run would count 0, 1 or 2 bursts. Give it longer.
            slow = warm.requests_per_s * args.duration < args.min_requests
            durations.append(max(args.duration, args.slow_duration) if slow else args.duration)
        timed: dict[int, list[tuple[WrkResult, CpuShare]]] = {i: [] for i in range(len(cells))}
        for round_number in range(1, args.repeat + 1):
            for i, (server, workload, url, answer) in enumerate(cells):
                result, share = quiet_run(server, url, workload.accept, args, started, durations[i])
                timed[i].append((result, share))
                print(f"  round {round_number}: {workload.key} on {server.name}: {result.requests_per_s:,.1f} req/s "
                      f"({answer}; other cores {share.other_cores:.2f})", file=sys.stderr, flush=True)
    finally:
        for server in started:
            server.stop()
    shutil.rmtree(logs, ignore_errors=True)
    rows = [Row(workload, server.name, [run for run, _ in timed[i]], [cpu for _, cpu in timed[i]], answer, durations[i])
            for i, (server, workload, _, answer) in enumerate(cells)]
    context = {"triples": f"{triples:,}", "rows": f"{len(reference):,}", "load_start": load_start,
               "load_end": load_average()}
    return rows, context


def settle(servers: list[Server], timeout: float = 120) -> None:
    """Wait until no server is still working off requests queued by the previous run (wrk leaves some)."""
    def used() -> float:
        return sum(sum(group_cpu(server.process.pid).values()) for server in servers if server.process)
    deadline, last = time.monotonic() + timeout, used()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = used()
        if now - last < 0.02:
            return
        last = now


def quiet_run(server: Server, url: str, accept: str, args: argparse.Namespace, started: list[Server],
              duration: float) -> tuple[WrkResult, CpuShare]:
    """A timed run, tried again (after a pause) while other processes used more than ``--max-other`` cores."""
    for attempt in range(args.retries + 1):
        settle(started)
        result, share = timed_wrk(server, url, accept, args, duration)
        if share.other_cores <= args.max_other or attempt == args.retries:
            return result, share
        print(f"    other processes used {share.other_cores:.2f} cores during that run: waiting, then again",
              file=sys.stderr, flush=True)
        time.sleep(args.pause)
    raise AssertionError("unreachable")


BASELINES = {"competency": ["hello"], "sparql": ["rdflib-endpoint", "bare pyoxigraph"]}
TARGETS = {("competency", "hello"): 0.85, ("sparql", "rdflib-endpoint"): 20.0, ("sparql", "bare pyoxigraph"): 0.70}


def ratio(rows: list[Row], workload: str, baseline: str) -> float | None:
    by = {(row.workload.key, row.server): row.median.requests_per_s for row in rows}
    if (workload, "ours") not in by or not by.get((workload, baseline)):
        return None  # not measured, or the baseline completed no request in the time given
    return by[(workload, "ours")] / by[(workload, baseline)]


def cpu_ratio(rows: list[Row], workload: str, baseline: str) -> float:
    """Baseline's server CPU per request over ours: the throughput ratio if CPU were the only limit."""
    by = {(row.workload.key, row.server): sum(row.cpu[row.median_index].server_ms_per_request.values()) for row in rows}
    return by[(workload, baseline)] / by[(workload, "ours")]


def _cpu_cell(share: CpuShare) -> str:
    """Server CPU per request: web workers, plus what they fork (our query processes) when any."""
    workers = share.server_ms_per_request.get(1, 0.0) + share.server_ms_per_request.get(0, 0.0)
    forked = sum(cpu for depth, cpu in share.server_ms_per_request.items() if depth >= 2)
    return f"{workers:.2f}" + (f" + {forked:.2f}" if forked >= 0.005 else "")


def report(rows: list[Row], context: dict[str, str], args: argparse.Namespace, command: str) -> str:
    """The markdown section: setup, the table, and the target lines."""
    lines = [SECTION, "",
             f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, loopback only. "
             f"Graph: {SIZE:,} synthetic competencies, {context['triples']} triples. The four servers are "
             f"started one after another and then kept up, and the timed runs take turns (round-robin); each has "
             f"{args.workers} workers, same settings as `ckg serve` (gunicorn "
             f"{'gthread, ' + str(args.threads) + ' threads' if args.threads > 1 else 'sync'}, preload; "
             f"rdflib-endpoint under uvicorn with {args.workers} workers). Load: "
             f"`wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration:g}s --timeout 60s --latency` after a "
             f"{args.warmup:g} s warm-up (runs of a server too slow to complete {args.min_requests} requests in "
             f"{args.duration:g} s last {args.slow_duration:g} s instead), {args.repeat} timed runs per cell; each cell shows the run with the "
             f"median rate (all runs in the last column). Every answer was checked before timing (status, media "
             f"type, the same {context['rows']} rows as pyoxigraph gives in-process); `errors` sums wrk's "
             f"non-2xx and socket errors over the runs. wrk runs on the same cores as the servers: "
             f"`wrk cores` is its CPU use; `other cores` is the CPU used by everything else on the machine "
             f"(other engineers' processes) during the run, which slows every server it overlaps; a run with "
             f"more than {args.max_other:g} other cores was tried again (up to {args.retries} times, "
             f"{args.pause:g} s apart). `server CPU ms/req` (from /proc) does not depend on that noise.", "",
             "| workload | server | req/s | p50 ms | p99 ms | ratio | answer checked | errors "
             "| server CPU ms/req (workers + forked) | wrk cores | other cores | all runs req/s |",
             "|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|---|"]
    order = {"ours": 0, "hello": 1, "rdflib-endpoint": 2, "bare pyoxigraph": 3}
    for row in sorted(rows, key=lambda r: (r.workload.key != "competency", order.get(r.server, 9))):
        middle, share = row.median, row.cpu[row.median_index]
        versus = []
        if row.server == "ours":
            for baseline in BASELINES[row.workload.key]:
                value = ratio(rows, row.workload.key, baseline)
                if value is not None:
                    versus.append(f"{value:.2f}× {baseline}")
        lines.append(f"| {row.workload.title} | {row.server} | {middle.requests_per_s:,.1f} | "
                     f"{middle.latency_ms['50']:.2f} | {middle.latency_ms['99']:.2f} | "
                     f"{', '.join(versus) or 'baseline'} | {row.answer} | {sum(run.errors for run in row.runs)} | "
                     f"{_cpu_cell(share)} | {share.load_generator_cores:.2f} | {share.other_cores:.2f} | "
                     f"{' / '.join(f'{run.requests_per_s:,.1f}' for run in row.runs)}"
                     f"{f' ({row.duration:g} s runs)' if row.duration != args.duration else ''} |")
    lines.append("")
    verdicts = []
    for (workload, baseline), target in TARGETS.items():
        value = ratio(rows, workload, baseline)
        if value is None:
            verdicts.append(f"ours / {baseline}: not measured")
        else:
            cpu = cpu_ratio(rows, workload, baseline)
            verdicts.append(f"ours / {baseline} = {value:.2f} (target ≥ {target:g}): "
                            f"{'met' if value >= target else 'NOT met'} (by server CPU per request: {cpu:.2f})")
    lines += [f"- (a) competency as JSON-LD: {verdicts[0]}", f"- (b) SPARQL SELECT: {verdicts[1]}; {verdicts[2]}",
              "", f"Load average (1/5/15 min) at start {context['load_start']}, at end {context['load_end']} "
              f"(the benchmark itself keeps both cores busy; see `other cores` for everyone else).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out"), help="where the catalogue and dump go")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes of every server")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per gunicorn worker (default: what `ckg serve` uses; 1 means sync workers)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of untimed load first")
    parser.add_argument("--min-requests", type=int, default=300,
                        help="a server whose warm-up rate would complete fewer requests in --duration is slow")
    parser.add_argument("--slow-duration", type=float, default=60, help="seconds per timed run of a slow server")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per cell, taken in turns")
    parser.add_argument("--max-other", type=float, default=0.25,
                        help="a run during which other processes used more cores than this is run again")
    parser.add_argument("--retries", type=int, default=3, help="how many times a disturbed run is tried again")
    parser.add_argument("--pause", type=float, default=10, help="seconds to wait before trying a disturbed run again")
    parser.add_argument("--write-results", action="store_true", help=f"replace the '{SECTION}' section of {RESULTS_FILE}")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if not (BIN / "uvicorn").exists() or subprocess.run([sys.executable, "-c", "import rdflib_endpoint"]).returncode:
        raise SystemExit("rdflib-endpoint or uvicorn is missing: pip install -e '.[bench]'")
    if args.threads is None:
        from service.config import ServiceConfig
        args.threads = ServiceConfig().threads
    os.chdir(ROOT)
    # A plain `kill` of this script must stop the servers too: turn SIGTERM into an exception (finally runs).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    command = "python bench/http.py " + " ".join(sys.argv[1:])
    try:
        rows, context = measure(args)
    except (RuntimeError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"benchmark stopped: {error}") from None
    text = report(rows, context, args, command.strip())
    print(text)
    if args.write_results:
        write_section(text)
        print(f"written to {RESULTS_FILE}", file=sys.stderr)


if __name__ == "__main__":
    main()
