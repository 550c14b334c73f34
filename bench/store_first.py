"""Benchmark: a worker's first history page and first CASE request, served from an engine (issue 11).

What ``ckg serve --store`` leaves for a worker's first request of a kind, measured at size (20,000
competencies by default) against Oxigraph server, with embedded mode (``ckg serve CATALOG_DIR``) at the
same size beside it:

1. the first resource page that shows a history (the worker reads that resource in every release graph,
   ``service.store_releases``; before commit 323945b it first derived every release's whole change set):
   time to first byte (status line and headers) and to the last byte, then a second page of another
   resource (the page itself not cached);
2. the first CASE 1.1 request (``CFDocuments``: from an engine, a child process writes the CASE packages
   and their index once for every worker, answering 503 + Retry-After while it
   writes; the time is to the first answer that is not a 503, and the child's memory is sampled), then a
   ``CFItems`` lookup of another competency, then the Dutch ``CFPackages`` (the whole framework in one
   answer, what an HR system imports); before commit c3dd10c each worker built a ``CaseApi`` from a full read;
   then the first download (``/downloads/catalogue.nt``: the release files, which from an engine the same
   child writes from the same full read right after the CASE packages; before this session, a second child
   with a full read of its own);
3. the first feed request (every release's change set; from an engine derived once for every worker by
   a child process, 503 meanwhile) and a release's file (written by a child from a full read of the
   release's graph);
4. the worker's memory (VmRSS and VmHWM from /proc) when it is ready and after each request; the
   engine's and gunicorn master's too.

Setup, each step skipped when a marker says a finished run of it is there (so the 20,000 setup, about
11 minutes of work here in steps of 2-5 minutes, runs once, and can run in pieces: ``--only``): a synthetic catalogue (bench/synthetic.py) released as
1.0.0 with ``ckg release``, ``--changed`` competencies reworded and released as 1.0.1 (as
bench/release.py does); an Oxigraph server on a database folder kept under ``--out``, into which
``ckg publish`` loads release 1.0.0, release 1.0.1 (each from its release folder) and then the
catalogue folder (which finds both releases there and loads the current catalogue).

Each mode is measured on a fresh ``ckg serve`` (gunicorn, as users run it) with ``--workers`` workers
(default 1, so that every request below reaches the same worker: its first is the worker's first;
with N workers each worker pays it once). Requests are sent one at a time.

Usage: python -m bench.store_first [--competencies 20000] [--changed 1000] [--out bench/out]
       [--modes store,embedded] [--only catalogue|release-1.0.0|release-1.0.1|current|measure]
(needs the oxigraph server, ``pip install oxigraph``)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from bench.http_load import free_port, processes  # noqa: E402
from bench.release import _reword  # noqa: E402
from bench.synthetic import FORMAT, generate  # noqa: E402
from deploy.example import oxigraph_binary  # noqa: E402
from deploy.procs import answers, stop, wait_until  # noqa: E402

VERSIONS = ("1.0.0", "1.0.1")
STEPS = ("catalogue", "release-1.0.0", "release-1.0.1", "current", "measure")
TIMEOUT = 1800.0
"""Seconds one request may take (a first request at 20,000 competencies may take minutes)."""
HEAD = 4 << 20
"""Bytes of an answer kept to check what it must hold (the history block; a package's first items)."""
START_LIMIT = 1800.0
"""Seconds a server may take to answer /status (embedded mode compiles 20,000 competencies first)."""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}


def _ckg(*args: str) -> None:
    """One ``ckg`` command in a fresh process, as a user runs it; its output goes to our standard error."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ckg.cli", *args], cwd=ROOT, env=_env(), stdout=sys.stderr)
    if done.returncode != 0:
        raise SystemExit(f"ckg {' '.join(args)} failed with exit status {done.returncode}")
    print(f"ckg {args[0]} done in {time.monotonic() - started:.1f} s", file=sys.stderr)


def _done(marker: Path, text: str) -> bool:
    return marker.is_file() and marker.read_text(encoding="utf-8") == text


def make_catalogue(folder: Path, competencies: int, changed: int) -> Path:
    """The synthetic catalogue with releases 1.0.0 and 1.0.1 (``changed`` competencies reworded)."""
    catalog, marker = folder / "catalog", folder / ".released"
    stamp = f"{competencies} competencies, {changed} changed, {FORMAT}"
    if _done(marker, stamp):
        return catalog
    generate(catalog, competencies)
    _ckg("release", str(catalog))
    _reword(catalog, min(changed, competencies))
    _ckg("release", str(catalog))
    marker.write_text(stamp, encoding="utf-8")
    return catalog


class Oxigraph:
    """An Oxigraph server on a database folder that outlives it (the published catalogue is kept)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    @contextmanager
    def running(self) -> Iterator["Oxigraph"]:
        binary = oxigraph_binary()
        if not binary:
            raise SystemExit("the oxigraph server is not installed (pip install oxigraph)")
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / "engine.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen([binary, "serve", "--location", str(self.folder / "db"), "--bind",
                                             f"127.0.0.1:{self.port}"], stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until(self.process, lambda: answers(self.root + "query?query=ASK%7B%7D", 5), "oxigraph server", 300, log,
                       every=0.2)
            yield self
        finally:
            stop(self.process, 120, term_group=True)


def publish(folder: Path, catalog: Path, step: str) -> None:
    """One publishing step into the kept engine: a release folder, or the catalogue (its current graph)."""
    marker = folder / f".published-{step}"
    stamp = (folder / ".released").read_text(encoding="utf-8")
    if _done(marker, stamp):
        return
    if step != "release-1.0.0" and not _done(folder / f".published-{STEPS[STEPS.index(step) - 1]}", stamp):
        raise SystemExit(f"publish {STEPS[STEPS.index(step) - 1]} first (--only {STEPS[STEPS.index(step) - 1]})")
    if step == "release-1.0.0":
        shutil.rmtree(folder / "oxigraph", ignore_errors=True)  # what an earlier catalogue left
    path = catalog / "releases" / step.split("-", 1)[1] if step.startswith("release-") else catalog
    with Oxigraph(folder / "oxigraph").running() as engine:
        _ckg("publish", str(path), "--graph-store", engine.root + "store")
    marker.write_text(stamp, encoding="utf-8")


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (MiB) of one process, and its PSS (shared pages split among their users)."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(line.split()[1]) / 1024
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                figures["Pss"] = int(line.split()[1]) / 1024
    except OSError:
        figures["Pss"] = float("nan")
    return figures


def workers(master: int) -> list[int]:
    """The gunicorn workers: the master's children (their own query processes are the workers' children)."""
    return sorted(pid for pid, process in processes().items() if process.parent == master)


@contextmanager
def serve(args: list[str], workers_: int, threads: int, log: Path) -> Iterator[tuple[str, int]]:
    """``ckg serve`` (gunicorn) on a free port until it answers ``/status``: its root URL and master's pid."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "ckg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                    "--workers", str(workers_), "--threads", str(threads), *args],
                                   cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    root = f"http://127.0.0.1:{port}"
    try:
        wait_until(process, lambda: answers(root + "/status", 10) and len(workers(process.pid)) >= workers_,
                   "ckg serve " + " ".join(args), START_LIMIT, log, every=0.5)
        time.sleep(2)  # the workers' post-init (their query processes) settles before memory is read
        yield root, process.pid
    finally:
        stop(process, 60, group=True)


def writers() -> list[int]:
    """The processes writing a site's files for ``ckg serve --store`` (``service.store_write``)."""
    found = []
    for pid in processes():
        try:
            if b"service.store_write" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


def _get_once(root: str, path: str, accept: str) -> tuple[int, float, float, int, bytes, str | None]:
    """One GET on a fresh connection: status, seconds to the first byte and to the last, size, head, Retry-After."""
    host, port = root.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers={"Accept": accept})
        response = connection.getresponse()
        first = time.perf_counter() - started
        head, size = b"", 0
        while chunk := response.read(1 << 20):  # a CFPackage is ~1.5 GB at 20,000: counted, not kept
            size += len(chunk)
            if len(head) < HEAD:
                head += chunk
        last = time.perf_counter() - started
    finally:
        connection.close()
    return response.status, first, last, size, head, response.getheader("Retry-After")


def timed_get(root: str, path: str, accept: str, must: bytes = b"") -> dict[str, float]:
    """A GET until its answer is not "503, still writing": seconds to the first byte (status line and headers)
    and to the last of that answer, counted from the first request.

    A 503 with Retry-After (a site from an engine writes its release files and CASE packages once, in a child
    process: service.background_write) is asked again every second, sooner than Retry-After says, to time
    the wait; meanwhile the writing process's memory is sampled (``writer_mib``, its largest VmRSS seen).
    A 200 must hold ``must`` (a page without the history block never counts); any other status is
    reported as it is (the table has a status column), and the run goes on."""
    started = time.perf_counter()
    waits, writer = 0, 0.0
    while True:
        sent = time.perf_counter() - started
        status, first, last, size, head, retry = _get_once(root, path, accept)
        if status != 503 or retry is None:
            break
        waits += 1
        until = time.perf_counter() + 1.0
        while time.perf_counter() < until:
            for pid in writers():
                try:
                    writer = max(writer, memory(pid)["VmRSS"])
                except (OSError, KeyError):
                    pass
            time.sleep(0.1)
    if status == 200 and must not in head:
        raise RuntimeError(f"GET {path} ({accept}) answered 200 without {must!r}: {head[:300]!r}")
    if status != 200:  # a figure too: a first request the service cannot answer at this size
        print(f"GET {path} ({accept}) answered {status}: {head[:300]!r}", file=sys.stderr)
    return {"status": status, "first_s": sent + first, "last_s": sent + last, "bytes": size, "waits": waits,
            "writer_mib": writer}


def requests_of(base: str, changed: int, competencies: int) -> list[tuple[str, str, str, bytes]]:
    """(label, path, Accept, what the answer must hold) of the measured requests, in order."""
    from exports.case import item_id

    first, other = "competency/synthetic-1", f"competency/synthetic-{min(max(changed, 1) + 1, competencies)}"
    package = item_id(base + "scheme")
    history = b'<section class="history"'
    return [
        (f"first history page: /{first} (HTML, changed in 1.0.1)", f"/{first}", "text/html", history),
        (f"second page: /{other} (HTML)", f"/{other}", "text/html", history),
        ("first CASE request: CFDocuments", "/ims/case/v1p1/CFDocuments", "application/json", b'"CFDocuments"'),
        (f"CFItems/{{id of {other}}}", f"/ims/case/v1p1/CFItems/{item_id(base + other)}", "application/json",
         item_id(base + other).encode()),
        ("CFPackages/{Dutch document} (the whole framework)", f"/ims/case/v1p1/CFPackages/{package}",
         "application/json", b'"CFItems"'),
        ("first download: /downloads/catalogue.nt (the release files: from an engine, the same child's other part)",
         "/downloads/catalogue.nt", "*/*", b"<"),
        ("first feed request: /feed (every release's change set)", "/feed", "application/ld+json", b'"ldes"'),
        ("release file: /release/1.0.0/catalogue.nt", "/release/1.0.0/catalogue.nt", "*/*", b"<"),
    ]


def measure(mode: str, argv: list[str], folder: Path, args: argparse.Namespace, base: str,
            engine_pid: int | None) -> dict:
    """Start one ``ckg serve``, send the requests one by one, read memory between them."""
    result: dict = {"mode": mode, "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": []}
    clock = time.monotonic()
    with serve(argv, args.workers, args.threads, folder / f"serve-{mode}.log") as (root, master):
        result["start_s"] = time.monotonic() - clock
        started_workers = workers(master)

        def snapshot(after: str) -> None:
            # with several workers a request may reach any of them: the one using the most memory is shown
            largest = max((memory(pid) for pid in started_workers), key=lambda figures: figures["VmRSS"])
            result["rows"].append({"memory": after, "worker": largest, "master": memory(master),
                                   "engine": memory(engine_pid) if engine_pid else None})
        snapshot("ready (no request yet)")
        for label, path, accept, must in requests_of(base, args.changed, args.competencies):
            timing = timed_get(root, path, accept, must)
            result["rows"].append({"request": label, **timing})
            print(f"  {mode}: {label}: {timing['status']}, {timing['first_s']:.2f} s to first byte, {timing['last_s']:.2f} s in all",
                  file=sys.stderr)
            snapshot(f"after {label.split(':')[0]}")
        if workers(master) != started_workers:
            raise RuntimeError("a worker was replaced during the run: its figures are not one worker's")
    (folder / f"result-{mode}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def report(results: list[dict], args: argparse.Namespace, command: str) -> None:
    print(f"\n`{command}`: {args.competencies:,} competencies, releases 1.0.0 and 1.0.1 ({args.changed:,} changed), "
          f"`ckg serve` with {args.workers} worker(s) x {args.threads} threads, requests one at a time\n")
    print("| mode | started | server ready (s) |")
    print("|---|---|---:|")
    for result in results:
        print(f"| {result['mode']} | {result['started']} | {result['start_s']:.1f} |")
    print("\n| mode | request | status | 503s while writing | first byte (s) | last byte (s) | MiB | writer process VmRSS (MiB) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for result in results:
        for row in result["rows"]:
            if "request" in row:
                writer = f"{row['writer_mib']:,.0f}" if row.get("writer_mib") else "-"
                print(f"| {result['mode']} | {row['request']} | {row['status']} | {row.get('waits', 0)} | {row['first_s']:.2f} | "
                      f"{row['last_s']:.2f} | {row['bytes'] / 2**20:,.1f} | {writer} |")
    print("\n| mode | memory (MiB) | worker VmRSS | worker VmHWM | worker PSS | master VmRSS | engine VmRSS | engine VmHWM |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        for row in result["rows"]:
            if "memory" in row:
                engine = row["engine"] or {}
                cell = lambda d, k: f"{d[k]:,.0f}" if k in d else "-"  # noqa: E731
                print(f"| {result['mode']} | {row['memory']} | {cell(row['worker'], 'VmRSS')} | "
                      f"{cell(row['worker'], 'VmHWM')} | {cell(row['worker'], 'Pss')} | {cell(row['master'], 'VmRSS')} | "
                      f"{cell(engine, 'VmRSS')} | {cell(engine, 'VmHWM')} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--competencies", type=int, default=20000)
    parser.add_argument("--changed", type=int, default=1000, help="competencies reworded in release 1.0.1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out",
                        help="where the catalogue and the engine's database are kept for the next run")
    parser.add_argument("--modes", default="store,embedded")
    parser.add_argument("--only", choices=STEPS, help="run this one step (the setup is long at 20,000: run it in pieces)")
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn workers (with more than 1, a request may reach any: the memory shown is the "
                             "largest worker's, and a 'second' request may be another worker's first)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION",
                        help="one more `ckg serve` argument for both modes (repeat it), e.g. --serve-option=--query-timeout=60")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - {"store", "embedded"}:
        parser.error("--modes takes store and/or embedded")
    folder = (args.out / f"store-first-{args.competencies}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    steps = [args.only] if args.only else list(STEPS)
    if "catalogue" in steps:
        make_catalogue(folder, args.competencies, args.changed)
    catalog = folder / "catalog"
    for step in STEPS[1:4]:
        if step in steps:
            publish(folder, catalog, step)
    if "measure" not in steps:
        return
    if not _done(folder / ".published-current", (folder / ".released").read_text(encoding="utf-8")):
        raise SystemExit("the catalogue is not published yet: run the earlier steps first")
    base = _base(catalog)
    results = []
    work = Path(tempfile.mkdtemp(prefix="ckg-bench-first-", dir=folder))
    try:
        if "store" in modes:
            with Oxigraph(folder / "oxigraph").running() as engine:
                results.append(measure("store", ["--store", engine.root + "query", *args.serve_option], work, args, base,
                                       engine.process.pid))
        if "embedded" in modes:
            results.append(measure("embedded", [str(catalog), *args.serve_option], work, args, base, None))
    finally:
        for name in ("result-store.json", "result-embedded.json"):
            if (work / name).is_file():
                shutil.move(str(work / name), folder / name)
        shutil.rmtree(work, ignore_errors=True)
    report(results, args, "python -m bench.store_first " + " ".join(sys.argv[1:]))


def _base(catalog: Path) -> str:
    for line in (catalog / "catalog.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("base:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"no base in {catalog / 'catalog.yaml'}")


if __name__ == "__main__":
    main()
