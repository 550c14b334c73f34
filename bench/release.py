"""Benchmark: ``ckg release`` of synthetic catalogues, and the change set between two releases.

For each size: a synthetic catalogue is generated, released as 1.0.0 (``ckg release``, which
compiles, checks, writes every dump and the manifest, and records the change set: everything is
new), then ``CHANGED`` competencies get one criterion reworded and the catalogue is released as
1.0.1 (a patch: the change set is compared against 1.0.0's ``catalogue.nt``). Each ``ckg release``
runs in a fresh process; wall time and the child's peak RSS are reported. A third fresh process
times the change set alone (the current graph's snapshot, the previous release's snapshot read
from its N-Triples, and the diff), after compiling the catalogue (not timed).

Usage: python bench/release.py [--sizes 2000,20000] [--changed 1000] [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository, not bench/ (whose http.py hides the stdlib's)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    rows = []
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


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-changeset":
        child_changeset(sys.argv[2], sys.argv[3])
    else:
        main()
