"""Reload benchmark (issue 9): no failed request while the catalogue is changed and reloaded every 5 s.

One ``ckg serve`` (its defaults) on a synthetic catalogue, on a free 127.0.0.1 port, and the load of
bench/soak.py (64 keep-alive connections, half resource GETs, half varied SPARQL) in two phases:

1. **steady**: the load for N seconds, no reload;
2. **reloading**: the same load while, every 5 s, one competency's criterion is reworded and the
   server gets SIGHUP (each reload compiles the whole catalogue in gunicorn's master and replaces the
   workers).

At 20,000 competencies a rebuild takes about a minute, so the signals overlap it: the server
coalesces them (every SIGHUP that arrives during a rebuild is served by one more). After the
reloading phase's N seconds the signals stop but the load goes on until the rebuild in progress
has finished and its workers have taken over, so the swap's memory and latency are counted.

Reported per phase: resource-GET p50/p99, failed requests (a GET not answered 200, a SPARQL request
answered neither 200 nor 503 "busy, retry" — target 0), SPARQL answers per status, reloads that
went through (from ``/status``), and the peak memory of the server's processes (sum of PSS) against
the steady phase (target <= 2x).

Usage: python bench/reload.py [--seconds 60] [--connections 64] [--size 2000] [--every 5]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.soak import CLIENT_TIMEOUT, Phase, _client, _sample_memory, _start, _wait_idle, drive  # noqa: E402
from bench.synthetic import generate  # noqa: E402
from deploy.procs import stop  # noqa: E402


def _status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=CLIENT_TIMEOUT) as response:
        return json.loads(response.read())


def _reword(catalogue: Path, revision: int) -> None:
    """A new wording of one criterion of the first competency (a real change of content, not a touch)."""
    path = catalogue / "competencies" / "synthetic-000001.yaml"
    text = path.read_text(encoding="utf-8")
    text, count = re.subn(r"(\n\s+en: )(?:Revision \d+ - )?", rf"\g<1>Revision {revision} - ", text, count=1)
    assert count == 1, f"no English text found in {path}"
    path.write_text(text, encoding="utf-8")


def _reloads(port: int, pid: int, catalogue: Path, every: float, stop: threading.Event, done: list[dict]) -> None:
    revision = 0
    while not stop.wait(every):
        revision += 1
        _reword(catalogue, revision)
        os.kill(pid, signal.SIGHUP)
        done.append({"revision": revision, "sent": time.monotonic()})


def _serves(port: int, revision: int) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/competency/synthetic-1", headers={"Accept": "text/turtle"})
    with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
        return f"Revision {revision} - ".encode() in response.read()


def _until_settled(port: int, revision: int, grace: float) -> None:
    """Wait until the last edit is served and no rebuild runs, then ``grace`` s for the old workers to exit."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and (_status(port)["reloading_since"] is not None or not _serves(port, revision)):
        time.sleep(0.5)
    time.sleep(grace)


def run(name: str, port: int, pid: int, args: argparse.Namespace, catalogue: Path | None) -> tuple[Phase, list[dict]]:
    phase, lock, stop = Phase(name), threading.Lock(), threading.Event()
    threads = [threading.Thread(target=_client, args=(port, args.size, 1000 + i, stop, phase, lock, 0.5), daemon=True)
               for i in range(args.connections)]
    threads.append(threading.Thread(target=_sample_memory, args=(pid, stop, phase), daemon=True))
    signals: list[dict] = []
    if catalogue is None:
        drive(phase, threads, args.seconds, stop)
        return phase, signals
    no_more = threading.Event()
    sender = threading.Thread(target=_reloads, args=(port, pid, catalogue, args.every, no_more, signals), daemon=True)
    started = time.monotonic()
    for thread in [*threads, sender]:
        thread.start()
    time.sleep(args.seconds)
    no_more.set()
    sender.join()
    _until_settled(port, len(signals), grace=5)
    stop.set()
    for thread in threads:
        thread.join(CLIENT_TIMEOUT + 5)
    phase.seconds = time.monotonic() - started
    return phase, signals


def failures(phase: Phase) -> int:
    return sum(phase.get_failures.values()) + sum(n for status, n in phase.sparql.items() if status not in (200, 503))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--every", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ckg-bench-reload-") as folder:
        catalogue = generate(Path(folder) / "catalog", args.size)
        log = Path(folder) / "serve.log"
        process, port = _start(catalogue, log, args)
        try:
            _wait_idle(process.pid)
            steady, _ = run("steady", port, process.pid, args, None)
            _wait_idle(process.pid)
            first = _status(port)
            reloading, signals = run("reloading", port, process.pid, args, catalogue)
            time.sleep(2)
            last = _status(port)
        finally:
            stop(process, 120)
        reloaded = log.read_text().count("Reloaded ")
        refused = log.read_text().count("Reload refused")
        builds = last["reloads"] - first["reloads"]
    print(f"reload benchmark: {args.size:,} synthetic competencies ({first['triples']:,} triples), "
          f"{args.connections} connections x {args.seconds:g} s per phase, SIGHUP every {args.every:g} s")
    print(f"{'phase':<10} {'GETs':>7} {'p50 ms':>7} {'p99 ms':>8} {'SPARQL 200':>10} {'503':>5} {'failed':>7} "
          f"{'peak PSS MiB':>12}")
    for phase in (steady, reloading):
        print(f"{phase.name:<10} {len(phase.get_latencies):>7} {phase.p(0.5):>7.1f} {phase.p(0.99):>8.1f} "
              f"{phase.sparql.get(200, 0):>10} {phase.sparql.get(503, 0):>5} {failures(phase):>7} "
              f"{phase.peak_pss / 2**20:>12.0f}")
    print(f"reloading phase: {reloading.seconds:.0f} s (signals for {args.seconds:g} s, then the load went on until "
          f"the last rebuild's workers took over)")
    print(f"signals sent {len(signals)}, rebuilds {builds} (coalesced), reloads done {reloaded}, refused {refused}; last reload "
          f"{last['last_reload']['result']} at {last['last_reload']['at']} (loaded {last['loaded']})")
    print(f"failures: GET {dict(reloading.get_failures)}, SPARQL {dict(reloading.sparql)}")
    print(f"peak memory during reloads / steady: {reloading.peak_pss / max(1, steady.peak_pss):.2f}x (target <= 2x); "
          f"p99 reloading / steady: {reloading.p(0.99) / steady.p(0.99):.2f}x")
    # A run whose reloads were refused measured worker turnover, not reloads: it does not count as a pass.
    return 0 if failures(reloading) == 0 and failures(steady) == 0 and reloaded > 0 and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
