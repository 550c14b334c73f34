"""Benchmark: producing the CASE 1.1 CFPackage of synthetic catalogues (time and peak memory).

For each size a fresh process compiles the synthetic catalogue (no SHACL: not what is measured),
then streams the Dutch and the English CFPackage to a file (``exports.case.write_package``, what
``ckg export`` runs) and, in a second fresh process, builds the service's in-memory CASE index
(``service.case_api.CaseApi``, what the API holds). Peak memory is the process's peak RSS
(``ru_maxrss``) after the build and after the CASE step, so the growth the CASE step adds on top
of the graph can be read off. The table goes to standard output; nothing is written to RESULTS.md.

Usage: python bench/case.py [--sizes 2000,20000] [--out bench/out]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.synthetic import generate  # noqa: E402


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(catalog: str, mode: str, out: str) -> None:
    """One measured run in this (fresh) process; prints its figures as JSON."""
    from competency_kg.compile import compile_catalogue

    started = time.perf_counter()
    graph = compile_catalogue(catalog, shacl=False).graph
    figures = {"build_s": time.perf_counter() - started, "build_peak_mib": _peak_mib()}
    started, cpu = time.perf_counter(), _cpu_s()
    if mode == "export":
        from exports.case import LANGUAGES, write_package
        size = 0
        for language in LANGUAGES:
            with open(out, "wb") as handle:
                write_package(graph, handle, language)
            size += Path(out).stat().st_size
        figures["bytes"] = size
    else:
        from exports.case import item_id
        from service.case_api import CaseApi
        api = CaseApi(graph)
        first, last = graph.parts[0][0].subject.value, graph.parts[-1][0].subject.value
        clock = time.perf_counter()
        assert api.answer("CFItems", item_id(first), {}).status == 200
        figures["first_item_ms"] = (time.perf_counter() - clock) * 1000  # a worker's first item: maps identifiers to competencies
        clock = time.perf_counter()
        assert api.answer("CFItems", item_id(last), {}).status == 200
        figures["next_item_ms"] = (time.perf_counter() - clock) * 1000  # another competency: made from its part of the graph
        clock = time.perf_counter()
        figures["objects"] = len(api.owners) + len(api.item_owners) + len(api.shared)
        figures["index_ms"] = (time.perf_counter() - clock) * 1000  # the association index: first CFAssociations lookup
    figures["case_s"] = time.perf_counter() - started
    figures["case_cpu_s"] = _cpu_s() - cpu  # wall time suffers when other work shares the cores; CPU time less so
    figures["case_peak_mib"] = _peak_mib()
    print(json.dumps(figures))


def run(catalog: Path, mode: str, out: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", str(catalog), mode, str(out)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| competencies | build s | peak after build MiB | CFPackages nl+en s (CPU s) | package MiB (nl+en) | peak after export MiB "
          "| first CFItem ms | next CFItem ms | association index ms | API total s (CPU s) | peak after index MiB | identifiers indexed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        catalog = args.out / f"synthetic-{size}"
        if not (catalog / "competencies").is_dir() or len(list((catalog / "competencies").iterdir())) != size:
            generate(catalog, size)
        export = run(catalog, "export", args.out / f"case-{size}.json")
        index = run(catalog, "index", args.out / f"case-{size}.json")
        print(f"| {size:,} | {export['build_s']:.1f} | {export['build_peak_mib']:,.0f} | {export['case_s']:.1f} ({export['case_cpu_s']:.1f}) "
              f"| {export['bytes'] / 2**20:,.0f} | {export['case_peak_mib']:,.0f} | {index['first_item_ms']:,.0f} | {index['next_item_ms']:.1f} | {index['index_ms']:,.0f} | {index['case_s']:.1f} ({index['case_cpu_s']:.1f}) "
              f"| {index['case_peak_mib']:,.0f} | {index['objects']:,} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main()
