"""Benchmark: ``ckg release`` of synthetic catalogues, and the change set between two releases.

For each size: a synthetic catalogue is generated, released as 1.0.0 (``ckg release``, which
compiles, checks, writes every dump and the manifest, and records the change set: everything is
new), then ``CHANGED`` competencies get one criterion reworded and the catalogue is released as
1.0.1 (a patch: the change set is compared against 1.0.0's ``catalogue.nt``). Each ``ckg release``
runs in a fresh process; wall time and the child's peak RSS are reported. A third fresh process
times the change set alone (the current graph's snapshot, the previous release's snapshot read
from its N-Triples, and the diff), after compiling the catalogue (not timed).

With ``--feed``, the largest catalogue (two releases) is then served by ``ckg serve`` and feed
pages are timed against ordinary resource GETs on the same server, in the same formats (JSON-LD,
Turtle, N-Triples), with wrk (bench/http_load.py's runner): *uncached* on a server started with
``CKG_RENDER_CACHE=0`` (every answer rendered; the requests cycle over every competency, and over
every feed page of both releases), *cached* on a server with its default render cache (one URL
asked again and again). ``--repeat`` runs per cell: median and min-max. A feed page holds up to
500 version objects, each with the statements of its resource, so besides requests/s the table
gives resources/s (version objects for the feed, one for a resource GET): that is the rate the
issue's "feed pages served at the same rate as other resources" is judged on.

Usage: python bench/release.py [--sizes 2000,20000] [--changed 1000] [--out bench/out]
       [--feed] [--duration 10] [--repeat 3] [--connections 16]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.synthetic import generate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def child_changeset(catalog: str, previous: str) -> None:
    """Time the change set alone, in this fresh process; prints JSON."""
    from competency_kg.compile import compile_catalogue
    from exports.changes import diff, snapshot_of_graph, snapshot_of_ntriples, summary

    compiled = compile_catalogue(catalog, shacl=False)
    started = time.perf_counter()
    new = snapshot_of_graph(compiled.graph)
    old = snapshot_of_ntriples(Path(catalog) / "releases" / previous / "catalogue.nt", compiled.catalogue.base)
    changes = diff(old, new, compiled.catalogue.base)
    print(json.dumps({"seconds": time.perf_counter() - started, **summary(changes), "resources": len(new)}))


def _release(catalog: Path) -> tuple[float, float, str]:
    """Wall seconds, the child's peak RSS (MiB) and the last output line of one ``ckg release``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ckg.cli", "release", str(catalog)], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ckg release failed:\n{done.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return seconds, peak, done.stdout.strip().splitlines()[-1]


def _reword(catalog: Path, changed: int) -> None:
    files = sorted((catalog / "competencies").glob("*.yaml"))[:changed]
    for path in files:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("      - nl: Synthetisch gedragscriterium", "      - nl: Herzien synthetisch gedragscriterium", 1),
                        encoding="utf-8")
    meta = catalog / "catalog.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 1.0.1")
                    .replace("modified: 2026-11-27", "modified: 2026-12-01"), encoding="utf-8")


FEED_FORMATS = {"JSON-LD": "application/ld+json", "Turtle": "text/turtle", "N-Triples": "application/n-triples"}
FEED_LUA = """-- Every page of the feed in turn (PAGES lists them).
local pages = {PAGES}
function path(g)
  return pages[g % #pages + 1]
end
"""


def _feed_pages(catalog: Path) -> tuple[list[str], dict[str, int]]:
    """Every feed page's path and the version objects it holds (a page is 500 changes of one release)."""
    from service.feed import PAGE_SIZE

    pages, members = [], {}
    for changes in sorted((catalog / "releases").glob("*/changes.json")):
        count = len(json.loads(changes.read_text(encoding="utf-8"))["changes"])
        version = changes.parent.name
        for number in range(1, max(1, -(-count // PAGE_SIZE)) + 1):
            path = f"/feed/{version}/{number}"
            pages.append(path)
            members[path] = min(PAGE_SIZE, count - (number - 1) * PAGE_SIZE)
    return pages, members


def _warm(root: str, pages: list[str], media_type: str, bench_http) -> float:
    """Ask every release's first page from 8 clients at once, twice, so each worker has loaded every
    release's index before anything is timed; the seconds the first round took (the cold start)."""
    import concurrent.futures

    firsts = [page for page in pages if page.endswith("/1")]
    started, cold = time.perf_counter(), 0.0
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for round_ in range(2):
            for page in firsts:
                answers = list(pool.map(lambda _: bench_http.get(root + page, media_type, timeout=900)[0], range(8)))
                if set(answers) != {200}:
                    raise RuntimeError(f"{root + page} answered {answers}")
            if round_ == 0:
                cold = time.perf_counter() - started
    return cold


def _serve_and_time(catalog: Path, size: int, args: argparse.Namespace) -> list[tuple]:
    """Rows (cache, format, kind, requests/s runs, resources/s runs, KiB, errors) from two servers in turn."""
    from bench import http_load as bench_http

    pages, members = _feed_pages(catalog)
    mean_members = sum(members.values()) / len(members)
    folder = Path(tempfile.mkdtemp(prefix="ckg-bench-feed-"))
    cycle = folder / "cycle.lua"
    cycle.write_text(bench_http.VARY_LUA + bench_http.CYCLE_LUA.replace("SIZE", str(size)), encoding="utf-8")
    feed = folder / "feed.lua"
    feed.write_text(bench_http.VARY_LUA + FEED_LUA.replace("{PAGES}", "{" + ", ".join(f'"{p}"' for p in pages) + "}"),
                    encoding="utf-8")
    rows = []
    for cache, env in (("uncached", {"CKG_RENDER_CACHE": "0"}), ("cached", {})):
        server = bench_http.Server(f"ckg serve ({cache})", [sys.executable, "-m", "ckg.cli", "serve", "--host", "127.0.0.1",
                                   "--port", "{port}", str(catalog)], "/status", env=env, port=bench_http.free_port())
        server.start(folder, timeout=900)
        try:
            cold = _warm(server.root, pages, FEED_FORMATS["Turtle"], bench_http)
            print(f"  {cache}: first feed pages of every release (each worker loads the releases) {cold:.1f} s",
                  file=sys.stderr)
            for label, media_type in FEED_FORMATS.items():
                work = {"resource": (f"/competency/synthetic-{size // 2}", cycle, 1.0),
                        "feed page": (pages[-1], feed, None)}
                for kind, (one, script, per) in work.items():
                    status, content_type, body = bench_http.get(server.root + one, media_type)
                    if status != 200 or not content_type.startswith(media_type):
                        raise RuntimeError(f"{server.root + one} ({media_type}) answered {status} {content_type}")
                    if cache == "cached":
                        script, per = None, per or members[one]
                    else:
                        per = per or mean_members
                    runs = []
                    for run in range(args.repeat):
                        result = bench_http.run_wrk(server.root + ("/" if script else one), media_type,
                                                    args.wrk_threads, args.connections, args.duration, script,
                                                    base=(run + 1) * bench_http.SPACING)
                        runs.append(result)
                    rates = [r.requests_per_s for r in runs]
                    errors = sum(r.errors for r in runs)
                    rows.append((cache, label, kind, rates, [rate * per for rate in rates], len(body) / 1024, errors))
                    print(f"  {cache} {label} {kind}: {statistics.median(rates):.1f} req/s", file=sys.stderr)
        finally:
            server.stop()
    return rows


def _spread(values: list[float], digits: int = 0) -> str:
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--feed", action="store_true", help="serve the largest catalogue and time feed pages")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="wrk runs per cell")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    catalog = None
    for size in (int(s) for s in args.sizes.split(",")):
        catalog = generate(args.out / f"release-{size}" / "catalog", size)
        first, first_peak, _ = _release(catalog)
        _reword(catalog, min(args.changed, size))
        second, second_peak, line = _release(catalog)
        done = subprocess.run([sys.executable, __file__, "--child-changeset", str(catalog), "1.0.0"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
        alone = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append((size, first, first_peak, second, second_peak, alone["seconds"], alone["changed"], alone["resources"]))
        print(f"  {size}: {line}", file=sys.stderr)
    print("| competencies | `ckg release` 1.0.0 (s) | peak RSS (MiB) | `ckg release` 1.0.1 (s) | peak RSS (MiB) "
          "| change set alone (s) | resources changed | resources compared |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, first, fp, second, sp, alone, changed, resources in rows:
        print(f"| {size:,} | {first:.1f} | {fp:,.0f} | {second:.1f} | {sp:,.0f} | {alone:.1f} | {changed:,} | {resources:,} |")
    if args.feed and catalog is not None:
        feed_rows = _serve_and_time(catalog, size, args)
        print(f"\nFeed pages vs resource GETs, {size:,} competencies, releases 1.0.0 and 1.0.1; wrk -t{args.wrk_threads} "
              f"-c{args.connections} -d{args.duration:g}s, {args.repeat} runs: median (min–max)")
        print("| render cache | format | request | KiB | requests/s | resources/s | errors |")
        print("|---|---|---|---:|---:|---:|---:|")
        for cache, label, kind, rates, resources_rates, kib, errors in feed_rows:
            print(f"| {cache} | {label} | {kind} | {kib:,.1f} | {_spread(rates, 1)} | {_spread(resources_rates)} | {errors} |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-changeset":
        child_changeset(sys.argv[2], sys.argv[3])
    else:
        main()
