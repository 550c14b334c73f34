"""HTTP benchmark of the Linked Data service (issue 3, "Performance"), against baselines in the same run.

Servers, started one after another on free 127.0.0.1 ports with the same worker settings as
``ckg serve`` (gunicorn, 2 workers, the worker class and thread count ``ckg serve`` picks):
- ours: ``ckg serve`` on a synthetic catalogue of 2,000 competencies;
- hello: a one-route Flask app (bench/baselines/hello.py), the floor of any Flask app;
- rdflib-endpoint: the PyPI package serving the same graph (uvicorn, 2 workers);
- bare pyoxigraph: Flask handing the query straight to pyoxigraph (bench/baselines/bare_oxigraph.py),
  the in-process limit of a SPARQL answer.

Workloads, each beside its cache-free twin in the same run, because our service keeps rendered
pages and finished SPARQL answers per worker and the baselines keep nothing:
- (a) GET /competency/synthetic-1000 as JSON-LD, the same request again and again ("cached": after the
  first request our answer comes from the render cache), ours vs hello;
- (a cold) GET /competency/synthetic-N as JSON-LD, N cycling over all 2,000 competencies, on a second
  instance of ours started with CKG_RENDER_CACHE=0 (the cache keeps nothing, so every answer is
  rendered), vs hello;
- (b) GET /sparql with the SELECT of every competency and its labels, the same query again and again
  ("cached": ours answers from its SPARQL answer cache, the baselines run it every time);
- (b varied) the same SELECT paged — ``ORDER BY ?c ?label LIMIT L OFFSET O`` with L in 1,000..4,000
  and O in 0..999 — where no request of a run repeats any earlier request of the benchmark, so no
  answer can come from a cache: the SPARQL targets (≥ 20× rdflib-endpoint, ≥ 0.7× bare pyoxigraph)
  are judged on this one. Paging with ORDER BY/LIMIT/OFFSET is what our README tells clients to do
  with large answers.
The varied requests are made by a wrk Lua script (``VARY_LUA``); before anything is timed the script
is run against a recorder on 127.0.0.1 to prove that its requests do not repeat, and the recorded
requests are the ones whose answers are checked on every server.
Every answer is checked (status, media type, same rows as the store itself gives) before it is
timed, so a fast error page can never count as throughput; wrk's non-2xx and socket-error counts
are reported with each figure. Load: wrk (Debian package), bounded by connections and duration.

Noise: the machine may be shared, so the timed runs take turns across servers, each waits until
the servers are idle, and each records the CPU its server used per request and the CPU everything
else used meanwhile (a run disturbed by other processes is tried again).

Usage: python bench/http_load.py [--threads N] [--connections 16] [--duration 10] [--repeat 3] [--write-results]
(needs wrk, `apt-get install wrk`, and the `bench` extra: `pip install -e '.[bench]'`)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import RESULTS_FILE, write_section  # noqa: E402
from deploy.procs import stop as stop_process  # noqa: E402

BIN = Path(sys.executable).parent
SIZE = 2000
SLUG = "synthetic-1000"
JSONLD = "application/ld+json"
SPARQL_JSON = "application/sparql-results+json"
SELECT_LABELS = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
                 "PREFIX ckg: <https://w3id.org/competency-kg/def#> "
                 "SELECT ?c ?label WHERE { ?c a ckg:Competency ; skos:prefLabel ?label }")
SELECT_PAGE = SELECT_LABELS + " ORDER BY ?c ?label"
SECTION = "## HTTP (bench/http_load.py)"

SPACING = 100_000
"""Request numbers reserved for one wrk run of a varied workload: run k of a cell numbers its requests
from k × SPACING, so no run repeats a request of an earlier run (or of the warm-up) on the same server."""
PAGE_KEYS = 1000 * 3001
"""How many different pages PAGE_LUA makes (offsets 0..999 × limits 1,000..4,000) before it repeats."""

VARY_LUA = r"""-- Written by bench/http_load.py for one varied workload. Request g of a wrk run is
-- base + counter * threads + thread index: every request of the run has its own g, and runs given
-- bases SPACING apart never share one. path(g), below, turns g into the request.
next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end
function init(args)
  base = tonumber(args[1])
  stride = tonumber(args[2])
  counter = 0
end
function request()
  local g = base + counter * stride + thread_index
  counter = counter + 1
  return wrk.format(nil, path(g))
end
"""
PAGE_LUA = """-- A different page of the ordered SELECT for every g below PAGE_KEYS: for a given offset,
-- q -> (q + 1237 * offset) % 3001 is one-to-one, and consecutive requests get far-apart limits, so
-- every run (whatever its base) asks for pages of all sizes alike.
function path(g)
  local offset = g % 1000
  local limit = 1000 + (math.floor(g / 1000) + 1237 * offset) % 3001
  return [==[QUERY_PATH]==] .. "%20LIMIT%20" .. limit .. "%20OFFSET%20" .. offset
end
"""
CYCLE_LUA = """-- Every competency in turn.
function path(g)
  return "/competency/synthetic-" .. (g % SIZE + 1)
end
"""


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
        stop_process(self.process, 15, term_group=True)
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


def sparql_row_list(body: bytes) -> list[tuple[str, str]]:
    """The rows of a SPARQL JSON answer in the order given (a page of an ORDER BY query)."""
    bindings = json.loads(body)["results"]["bindings"]
    return [(b["c"]["value"], f'{b["label"]["value"]}@{b["label"].get("xml:lang", "")}') for b in bindings]


class Reference:
    """pyoxigraph in this process, on the same N-Triples: the answers every server must give."""

    def __init__(self, nt_file: Path):
        from pyoxigraph import RdfFormat, Store
        self.store = Store()
        with nt_file.open("rb") as handle:
            self.store.bulk_load(handle, format=RdfFormat.N_TRIPLES)

    def answer(self, query: str) -> bytes:
        from pyoxigraph import QueryResultsFormat
        return self.store.query(query).serialize(format=QueryResultsFormat.JSON)


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    path: str
    accept: str
    lua: str | None = None
    """The ``path(g)`` function of a varied workload (see VARY_LUA); None: ``path`` every time."""
    cache: str = "cached"
    """How our caches see it: "cached" (a repeated request) or "cache-free"."""
    unique: bool = False
    """Whether no request may repeat (so no answer cache can help); else the script cycles."""

    @property
    def varied(self) -> bool:
        return self.lua is not None


def expected_page_rows(path: str, total: int = 2 * SIZE) -> int:
    """Rows a page request of the varied workload asks for (the SELECT has ``total`` rows in all)."""
    match = re.search(r"LIMIT (\d+) OFFSET (\d+)$", query_of(path))
    if not match:
        raise RuntimeError(f"not a page request: {path}")
    limit, offset = int(match.group(1)), int(match.group(2))
    return max(0, min(limit, total - offset))


def query_of(path: str) -> str:
    """The SPARQL query of a ``/sparql?query=…`` path."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["query"][0]


def record_requests(script: Path, base: int, threads: int, seconds: float = 1.0) -> list[str]:
    """The paths a varied workload's wrk script asks for, recorded by a 127.0.0.1 server that answers 200.

    This is how the benchmark knows, rather than assumes, what wrk sends: the recorded paths are
    checked for repeats and their answers are checked on every server before anything is timed.
    """
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    paths: list[str] = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # wrk drops its connections when its time is up: not worth a traceback

    recorder = Quiet(("127.0.0.1", 0), Recorder)
    serving = threading.Thread(target=recorder.serve_forever, daemon=True)
    serving.start()
    try:
        run_wrk(f"http://127.0.0.1:{recorder.server_address[1]}/", "*/*", threads, threads * 2, seconds, script, base)
    finally:
        recorder.shutdown()
        recorder.server_close()
    return paths


def vary_script(workload: Workload, folder: Path) -> Path:
    """The wrk Lua script of a varied workload, written into ``folder``."""
    script = folder / f"{workload.key}.lua"
    script.write_text(VARY_LUA + workload.lua, encoding="utf-8")
    return script


def proven_requests(workload: Workload, script: Path, threads: int) -> list[str]:
    """Recorded requests of two runs with neighbouring bases; refuses a script that repeats a request."""
    first, second = record_requests(script, 0, threads), record_requests(script, SPACING, threads)
    every = first + second
    if not first or not second:
        raise RuntimeError(f"the {workload.key} wrk script made no request against the recorder")
    if len(set(every)) != len(every) and workload.unique:
        raise RuntimeError(f"the {workload.key} wrk script repeated a request: {len(every) - len(set(every))} "
                           f"of {len(every)} recorded requests were asked before")
    return every


def check_answer(server: Server, workload: Workload, reference: Reference, samples: list[str]) -> str:
    """Refuse to time a server whose answer is wrong; returns a one-line description of the good answer.

    A varied workload is checked on ``samples``, requests its wrk script was seen to make.
    """
    if workload.varied:
        described = [check_answer(server, Workload(workload.key.removesuffix("-varied").removesuffix("-cold"),
                                                   workload.title, path, workload.accept), reference, [])
                     for path in samples]
        return f"{len(samples)} of its requests: " + "; ".join(described)
    status, content_type, body = get(server.root + workload.path, workload.accept)
    if status != 200:
        raise RuntimeError(f"{server.name} answered {workload.key} with {status}: {body[:300]!r}")
    if workload.key == "sparql":
        if not content_type.startswith(SPARQL_JSON):
            raise RuntimeError(f"{server.name} answered the SELECT as {content_type!r}, not {SPARQL_JSON}")
        query = query_of(workload.path)
        if "ORDER BY" in query:  # a page: the same rows in the same order
            rows, expected = sparql_row_list(body), sparql_row_list(reference.answer(query))
        else:
            rows, expected = sparql_rows(body), sparql_rows(reference.answer(query))
        if rows != expected:
            raise RuntimeError(f"{server.name}'s answer to {query!r} differs from the store's: {len(rows)} rows "
                               f"against {len(expected)}")
        return f"{len(rows):,} rows, {len(body) / 1024:.0f} KiB"
    if workload.key == "competency" and server.name != "hello":
        if not content_type.startswith(JSONLD):
            raise RuntimeError(f"{server.name} answered the competency as {content_type!r}, not {JSONLD}")
        text = body.decode("utf-8")
        json.loads(text)
        slug = workload.path.rsplit("/", 1)[1]
        if f'competency/{slug}"' not in text:
            raise RuntimeError(f"{server.name}'s JSON-LD does not mention competency/{slug}")
    return f"{len(body) / 1024:.1f} KiB"


def run_wrk(url: str, accept: str, threads: int, connections: int, seconds: float,
            script: Path | None = None, base: int = 0) -> WrkResult:
    """One wrk run; with ``script`` (a varied workload) its requests are numbered from ``base``."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", "--latency",
               "-H", f"Accept: {accept}"]
    if script is not None:
        if base + SPACING > PAGE_KEYS:
            raise RuntimeError(f"request numbers from {base} would run past the {PAGE_KEYS:,} different pages")
        command += ["-s", str(script), url, "--", str(base), str(threads)]
    else:
        command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
    result = parse_wrk(done.stdout)
    if script is not None and result.requests * threads >= SPACING:
        raise RuntimeError(f"{result.requests} requests in one run could reach the next run's numbers: "
                           f"raise SPACING in bench/http_load.py")
    return result


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


_TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


@dataclass(frozen=True)
class ProcessCpu:
    """One line of /proc: who the process's parent and group are, and the CPU seconds it has used."""

    parent: int
    group: int
    seconds: float


def processes() -> dict[int, ProcessCpu]:
    """Every process's parent, group and CPU seconds so far, read from /proc (gone processes skipped)."""
    found: dict[int, ProcessCpu] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(entry)] = ProcessCpu(int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK)
    return found


def climb(pid: int, root: int, table: dict[int, ProcessCpu], limit: int) -> tuple[int, int]:
    """Walk up from ``pid`` through the parents ``table`` knows until ``root``: where it stopped, and how many steps."""
    node, depth = pid, 0
    while node != root and node in table and depth < limit:
        node, depth = table[node].parent, depth + 1
    return node, depth


def group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds used so far by each process of process group ``pgid``, by depth below its leader.

    Depth 0 is the server's master, 1 its web workers, 2 what the workers fork (our query processes).
    """
    table = {pid: p for pid, p in processes().items() if p.group == pgid}
    by_depth: dict[int, float] = {}
    for pid, process in table.items():
        _, depth = climb(pid, pgid, table, limit=8)
        by_depth[depth] = by_depth.get(depth, 0.0) + process.seconds
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
              duration: float, script: Path | None = None, base: int = 0) -> tuple[WrkResult, CpuShare]:
    """One timed wrk run, with the CPU used by the server, by wrk and by anything else meanwhile."""
    import resource
    pgid = server.process.pid
    server_before, busy_before, clock = group_cpu(pgid), busy_seconds(), time.monotonic()
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_wrk(url, accept, args.wrk_threads, args.connections, duration, script, base)
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

    @property
    def spread(self) -> str:
        """Lowest–highest request rate of the timed runs."""
        rates = [run.requests_per_s for run in self.runs]
        return f"{min(rates):,.1f}–{max(rates):,.1f}"


def prepare(out: Path) -> tuple[Path, Path]:
    """The synthetic catalogue (reused when complete) and a fresh N-Triples dump of its graph."""
    from bench.synthetic import ensure
    catalogue = ensure(out / f"synthetic-{SIZE}", SIZE)
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
    ours = [str(BIN / "ckg"), "serve", "--host", "127.0.0.1", "--port", "{port}", "--workers", str(workers),
            "--threads", str(threads), str(catalogue)]
    return [
        (Server("ours", ours, f"/competency/{SLUG}"), ["competency", "sparql", "sparql-varied"]),
        # The same service with a render cache that keeps nothing (RenderCache drops each entry as it
        # stores it): every request renders its page, as a first visit to that resource does.
        (Server(COLD, ours, f"/competency/{SLUG}", {"CKG_RENDER_CACHE": "0"}), ["competency-cold"]),
        (Server("hello", gunicorn("bench.baselines.hello:app", workers, threads), "/"), ["competency"]),
        (Server("rdflib-endpoint", [str(BIN / "uvicorn"), "bench.baselines.rdflib_endpoint_app:app", "--host",
                                    "127.0.0.1", "--port", "{port}", "--workers", str(workers), "--no-access-log"],
                sparql_ready, env, ready_log=("Application startup complete", workers)),
         ["sparql", "sparql-varied"]),
        (Server("bare pyoxigraph", gunicorn("bench.baselines.bare_oxigraph:app", workers, threads), sparql_ready, env),
         ["sparql", "sparql-varied"]),
    ]


COLD = "ours, render cache off"


def workloads() -> dict[str, Workload]:
    """Every workload by key: each repeated ("cached") one beside its cache-free twin."""
    page_path = "/sparql?query=" + urllib.parse.quote(SELECT_PAGE, safe="")
    return {
        "competency": Workload("competency", f"(a) GET /competency/{SLUG} as JSON-LD, repeated",
                               f"/competency/{SLUG}", JSONLD),
        "competency-cold": Workload("competency-cold", f"(a cold) GET each of the {SIZE:,} competencies in turn "
                                    "as JSON-LD", "/competency/", JSONLD,
                                    CYCLE_LUA.replace("SIZE", str(SIZE)), "cache-free"),
        "sparql": Workload("sparql", "(b) SPARQL SELECT of all competencies + labels, repeated",
                           "/sparql?" + urllib.parse.urlencode({"query": SELECT_LABELS}), SPARQL_JSON),
        "sparql-varied": Workload("sparql-varied", "(b varied) the same SELECT paged: ORDER BY … LIMIT 1000–4000 "
                                  "OFFSET 0–999, never the same page twice", "/sparql",
                                  SPARQL_JSON, PAGE_LUA.replace("QUERY_PATH", page_path), "cache-free", unique=True),
    }


def measure(args: argparse.Namespace) -> tuple[list[Row], dict[str, str]]:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    catalogue, nt_file = prepare(out)
    reference = Reference(nt_file)
    rows_all = sparql_rows(reference.answer(SELECT_LABELS))
    triples = sum(1 for _ in nt_file.open("rb"))
    by_key = workloads()
    logs = Path(tempfile.mkdtemp(prefix="bench-http-"))
    scripts: dict[str, Path] = {}
    samples: dict[str, list[str]] = {}
    for key, workload in by_key.items():
        if workload.varied:
            scripts[key] = vary_script(workload, logs)
            recorded = proven_requests(workload, scripts[key], args.wrk_threads)
            samples[key] = [recorded[0], recorded[len(recorded) // 2], recorded[-1]]
            if key == "sparql-varied":
                page_rows = [expected_page_rows(path) for path in recorded]
    load_start = load_average()
    started: list[Server] = []
    page_rows = page_rows if "sparql-varied" in samples else []
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
                workload = by_key[key]
                probe = Workload(key, workload.title, "/", "text/plain") if server.name == "hello" else workload
                answer = check_answer(server, probe, reference, samples.get(key, []))
                cells.append((server, workload, server.root + probe.path, answer))
        # Run k of a cell numbers its requests from (k + 2) × SPACING: 0 and SPACING were the recorder's.
        invocations = [2] * len(cells)

        def base(i: int) -> int:
            invocations[i] += 1
            return (invocations[i] - 1) * SPACING

        durations: list[float] = []
        for i, (server, workload, url, _) in enumerate(cells):
            settle(started)
            warm = run_wrk(url, workload.accept, args.wrk_threads, args.connections, args.warmup,
                           scripts.get(workload.key), base(i))
            # A server answering a few requests a second completes them in bursts (all connections'
            # requests finish together): a short run would count 0, 1 or 2 bursts. Give it longer.
            slow = warm.requests_per_s * args.duration < args.min_requests
            durations.append(max(args.duration, args.slow_duration) if slow else args.duration)
        timed: dict[int, list[tuple[WrkResult, CpuShare]]] = {i: [] for i in range(len(cells))}
        for round_number in range(1, args.repeat + 1):
            for i, (server, workload, url, answer) in enumerate(cells):
                result, share = quiet_run(server, url, workload.accept, args, started, durations[i],
                                          scripts.get(workload.key), lambda i=i: base(i))
                timed[i].append((result, share))
                print(f"  round {round_number}: {workload.key} on {server.name}: {result.requests_per_s:,.1f} req/s "
                      f"(other cores {share.other_cores:.2f})", file=sys.stderr, flush=True)
    finally:
        for server in started:
            server.stop()
    shutil.rmtree(logs, ignore_errors=True)
    rows = [Row(workload, server.name, [run for run, _ in timed[i]], [cpu for _, cpu in timed[i]], answer, durations[i])
            for i, (server, workload, _, answer) in enumerate(cells)]
    context = {"triples": f"{triples:,}", "rows": f"{len(rows_all):,}", "load_start": load_start,
               "load_end": load_average(),
               "page_rows": f"{sum(page_rows) / len(page_rows):,.0f}" if page_rows else "?",
               "page_spread": f"{min(page_rows):,}–{max(page_rows):,}" if page_rows else "?",
               "recorded": f"{len(page_rows):,}"}
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
              duration: float, script: Path | None = None,
              base: Callable[[], int] = lambda: 0) -> tuple[WrkResult, CpuShare]:
    """A timed run, tried again (after a pause) while other processes used more than ``--max-other`` cores.

    Each attempt takes a fresh ``base()``, so a retried varied run asks for pages never asked before.
    """
    for attempt in range(args.retries + 1):
        settle(started)
        result, share = timed_wrk(server, url, accept, args, duration, script, base())
        if share.other_cores <= args.max_other or attempt == args.retries:
            return result, share
        print(f"    other processes used {share.other_cores:.2f} cores during that run: waiting, then again",
              file=sys.stderr, flush=True)
        time.sleep(args.pause)
    raise AssertionError("unreachable")


BASELINES: dict[str, list[tuple[str, str]]] = {
    "competency": [("competency", "hello")],
    "competency-cold": [("competency", "hello")],
    "sparql": [("sparql", "rdflib-endpoint"), ("sparql", "bare pyoxigraph")],
    "sparql-varied": [("sparql-varied", "rdflib-endpoint"), ("sparql-varied", "bare pyoxigraph")],
}
"""For each workload of ours: the (workload, server) cells it is divided by."""
TARGETS: list[tuple[str, str, str, float]] = [
    ("competency", "competency", "hello", 0.85),
    ("competency-cold", "competency", "hello", 0.85),
    ("sparql-varied", "sparql-varied", "rdflib-endpoint", 20.0),
    ("sparql-varied", "sparql-varied", "bare pyoxigraph", 0.70),
]
"""(our workload, baseline workload, baseline server, least ratio). The SPARQL targets are judged on the
varied workload only: on the repeated one ours answers from its cache and the baselines have none."""
OURS = ("ours", COLD)


def _cell(rows: list[Row], workload: str, server: str | None = None) -> Row | None:
    """The row of ``workload`` on ``server`` (default: our server that ran it)."""
    for row in rows:
        if row.workload.key == workload and (row.server == server if server else row.server in OURS):
            return row
    return None


def ratio(rows: list[Row], workload: str, baseline_workload: str, baseline: str) -> float | None:
    ours, other = _cell(rows, workload), _cell(rows, baseline_workload, baseline)
    if ours is None or other is None or not other.median.requests_per_s:
        return None  # not measured, or the baseline completed no request in the time given
    return ours.median.requests_per_s / other.median.requests_per_s


def cpu_ratio(rows: list[Row], workload: str, baseline_workload: str, baseline: str) -> float:
    """Baseline's server CPU per request over ours: the throughput ratio if CPU were the only limit."""
    def cpu(row: Row) -> float:
        return sum(row.cpu[row.median_index].server_ms_per_request.values())
    return cpu(_cell(rows, baseline_workload, baseline)) / cpu(_cell(rows, workload))


def _cpu_cell(share: CpuShare) -> str:
    """Server CPU per request: web workers, plus what they fork (our query processes) when any."""
    workers = share.server_ms_per_request.get(1, 0.0) + share.server_ms_per_request.get(0, 0.0)
    forked = sum(cpu for depth, cpu in share.server_ms_per_request.items() if depth >= 2)
    return f"{workers:.2f}" + (f" + {forked:.2f}" if forked >= 0.005 else "")


def verdicts(rows: list[Row]) -> list[str]:
    """One line per target, judged on the median runs."""
    lines = []
    for workload, baseline_workload, baseline, target in TARGETS:
        ours = _cell(rows, workload)
        title = ours.workload.title if ours else workload
        value = ratio(rows, workload, baseline_workload, baseline)
        if value is None:
            lines.append(f"- {title}: ours / {baseline}: not measured")
            continue
        cpu = cpu_ratio(rows, workload, baseline_workload, baseline)
        lines.append(f"- {title} ({ours.workload.cache}): ours / {baseline} = {value:.2f} (target ≥ {target:g}): "
                     f"{'met' if value >= target else 'NOT met'} (by server CPU per request: {cpu:.2f})")
    return lines


def notes(rows: list[Row], context: dict[str, str]) -> list[str]:
    """What explains the figures, written by the script so that every `--write-results` keeps it true."""
    lines = []
    cached, varied = ratio(rows, "sparql", "sparql", "bare pyoxigraph"), \
        ratio(rows, "sparql-varied", "sparql-varied", "bare pyoxigraph")
    if cached is not None and varied is not None:
        lines.append(
            f"- (b) is the same query again and again: after its first answer, each of our workers serves it "
            f"from its SPARQL answer cache, while rdflib-endpoint and bare pyoxigraph run it every time. Its "
            f"ratios ({cached:.2f}× bare pyoxigraph) measure that cache, not the endpoint, and are not judged. "
            f"(b varied) asks for a page no earlier request asked for (the recorder saw no repeat), so every "
            f"server runs every query: {varied:.2f}× bare pyoxigraph there. Each of its queries sorts all "
            f"{context['rows']} rows and returns a page of {context['page_spread']} rows ({context['page_rows']} on "
            f"average over the {context['recorded']} requests recorded from the script), so its rates compare with "
            f"each other, not with (b)'s.")
    warm, cold = ratio(rows, "competency", "competency", "hello"), ratio(rows, "competency-cold", "competency", "hello")
    if warm is not None and cold is not None:
        lines.append(
            f"- (a) is one page again and again: after the first request each worker answers it from its render "
            f"cache ({warm:.2f}× hello). (a cold) runs on a second instance of ours started with "
            f"CKG_RENDER_CACHE=0, whose cache drops every page it stores, and asks for each of the {SIZE:,} "
            f"competencies in turn: every answer is rendered from the graph ({cold:.2f}× hello), as a first "
            f"visit to a resource is.")
    forked = [row for row in rows if row.server in OURS and row.workload.key == "sparql-varied"]
    if forked:
        share = forked[0].cpu[forked[0].median_index].server_ms_per_request
        lines.append(
            f"- Our uncached SPARQL request costs web-worker CPU plus query-process CPU "
            f"({_cpu_cell(forked[0].cpu[forked[0].median_index])} ms): the query runs in a separate process "
            f"(time and memory limits, killed when past them) and its answer crosses a pipe; bare pyoxigraph "
            f"runs the query in the web worker with no limits. That hop is the price of the limits."
            if sum(cpu for depth, cpu in share.items() if depth >= 2) >= 0.005 else
            "- Our uncached SPARQL requests used no forked query process CPU in the median run.")
    return lines


def report(rows: list[Row], context: dict[str, str], args: argparse.Namespace, command: str) -> str:
    """The markdown section: setup, the table, the target lines and the notes that explain them."""
    lines = [SECTION, "",
             f"Command: `{command}`", "",
             f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, loopback only. "
             f"Graph: {SIZE:,} synthetic competencies, {context['triples']} triples. The five servers are "
             f"started one after another and then kept up, and the timed runs take turns (round-robin); each has "
             f"{args.workers} workers, same settings as `ckg serve` (gunicorn "
             f"{'gthread, ' + str(args.threads) + ' threads' if args.threads > 1 else 'sync'}, preload; "
             f"rdflib-endpoint under uvicorn with {args.workers} workers). Load: "
             f"`wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration:g}s --timeout 60s --latency` after a "
             f"{args.warmup:g} s warm-up (runs of a server too slow to complete {args.min_requests} requests in "
             f"{args.duration:g} s last {args.slow_duration:g} s instead), {args.repeat} timed runs per cell: "
             f"`req/s` is the median run (its latencies and CPU figures beside it), `min–max` the spread, all runs "
             f"in the last column. *cached*: the same request repeated, so ours answers from a cache after the "
             f"first; *cache-free*: every request different (a wrk Lua script numbers them; each run, retry and "
             f"warm-up starts at new numbers), so no answer can come from a cache. Every answer was checked before "
             f"timing (status, media type, the same rows as pyoxigraph gives in-process — for the varied "
             f"workloads on requests recorded from the script itself; the full SELECT has {context['rows']} rows); "
             f"`errors` sums wrk's non-2xx and socket errors over the runs. wrk runs on the same cores as the "
             f"servers: `wrk cores` is its CPU use; `other cores` is the CPU used by everything else on the machine "
             f"(other engineers' processes) during the run, which slows every server it overlaps; a run with "
             f"more than {args.max_other:g} other cores was tried again (up to {args.retries} times, "
             f"{args.pause:g} s apart). `server CPU ms/req` (from /proc) does not depend on that noise.", "",
             "| workload | server | cache | req/s | min–max | p50 ms | p99 ms | ratio | answer checked | errors "
             "| server CPU ms/req (workers + forked) | wrk cores | other cores | all runs req/s |",
             "|---|---|---|---:|---|---:|---:|---|---|---:|---:|---:|---:|---|"]
    order = {"ours": 0, COLD: 0, "hello": 1, "rdflib-endpoint": 2, "bare pyoxigraph": 3}
    keys = list(BASELINES)
    for row in sorted(rows, key=lambda r: (keys.index(r.workload.key) if r.workload.key in keys else 9,
                                           order.get(r.server, 9))):
        middle, share = row.median, row.cpu[row.median_index]
        versus = []
        if row.server in OURS:
            for baseline_workload, baseline in BASELINES[row.workload.key]:
                value = ratio(rows, row.workload.key, baseline_workload, baseline)
                if value is not None:
                    versus.append(f"{value:.2f}× {baseline}")
        cache = row.workload.cache if row.server in OURS else "none (baseline)"
        lines.append(f"| {row.workload.title} | {row.server} | {cache} | {middle.requests_per_s:,.1f} | {row.spread} | "
                     f"{middle.latency_ms['50']:.2f} | {middle.latency_ms['99']:.2f} | "
                     f"{', '.join(versus) or 'baseline'} | {row.answer} | {sum(run.errors for run in row.runs)} | "
                     f"{_cpu_cell(share)} | {share.load_generator_cores:.2f} | {share.other_cores:.2f} | "
                     f"{' / '.join(f'{run.requests_per_s:,.1f}' for run in row.runs)}"
                     f"{f' ({row.duration:g} s runs)' if row.duration != args.duration else ''} |")
    lines += ["", "Targets (issue 3; the SPARQL ones judged on the cache-free workload, issue 12):", *verdicts(rows),
              "", "Notes:", *notes(rows, context),
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
    command = "python bench/http_load.py " + " ".join(sys.argv[1:])
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
