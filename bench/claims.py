"""The measurements behind the speed claims in README.md and pyproject.toml (issue 12).

Each claim about a library or engine we chose is measured here, on synthetic catalogues
(bench/synthetic.py), in this process, one step at a time:
- SHACL: the compiled engine (ontology/shacl_compiled.py, one process) against pyshacl on the same
  built graph. pyshacl is measured only up to ``--pyshacl-sizes`` (it is slow and holds the graph in
  rdflib), the compiled engine also on larger catalogues; the report gives seconds per competency
  so the two can be compared at any size, and never extrapolates a time it did not measure.
- schema check: confirming that valid competency files are valid, with the fastjsonschema
  validator the loader uses against jsonschema's (what the loader would otherwise run).
- JSON-LD writing: orjson with 2-space indentation, as exports/jsonld.py writes the nested nodes,
  against ``json.dumps(indent=2)``: the same documents, bytes compared equal once.
Times are the median of ``--repeat`` runs with the spread (min–max); the machine is shared, so
other work slows a run but never speeds one up.

Usage: python bench/claims.py [--pyshacl-sizes 50,200] [--compiled-sizes 50,200,2000,10000] [--repeat 3]
       [--write-results]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.results import write_section  # noqa: E402
from bench.synthetic import ensure  # noqa: E402

SECTION = "## Claims: SHACL engines, schema check, JSON writing (bench/claims.py)"


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float, float, object]:
    """(median, min, max) seconds of ``repeat`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times), result


def cell(figures: tuple[float, float, float, object], unit: float = 1.0, digits: int = 2) -> str:
    median, low, high, _ = figures
    return f"{median * unit:.{digits}f} ({low * unit:.{digits}f}–{high * unit:.{digits}f})"


def shacl_rows(out: Path, pyshacl_sizes: list[int], compiled_sizes: list[int], repeat: int) -> list[str]:
    from competency_kg.compile import compile_catalogue
    from ontology.shacl import compiled_findings, pyshacl_findings

    import pyshacl  # noqa: F401 (imported and the shapes compiled before anything is timed)

    from ontology.shacl import compiled_shapes
    compiled_shapes()
    lines = ["| competencies | triples | compiled engine s (min–max) | ms per competency | pyshacl s (min–max) "
             "| ms per competency | pyshacl ÷ compiled |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for size in sorted(set(pyshacl_sizes) | set(compiled_sizes)):
        graph = compile_catalogue(ensure(out / f"synthetic-{size}", size), shacl=False).graph
        triples = sum(1 for _ in graph.statements())
        compiled = timed(lambda: compiled_findings(graph, processes=1), repeat)
        if compiled[3]:
            raise SystemExit(f"the synthetic catalogue of {size} violates its shapes: {compiled[3][:3]}")
        row = f"| {size:,} | {triples:,} | {cell(compiled)} | {compiled[0] / size * 1000:.2f} | "
        if size in pyshacl_sizes:
            slow = timed(lambda: pyshacl_findings(graph), repeat)
            if slow[3] != compiled[3]:
                raise SystemExit(f"pyshacl and the compiled engine disagree on {size} competencies")
            row += f"{cell(slow)} | {slow[0] / size * 1000:.2f} | {slow[0] / compiled[0]:.0f}× |"
        else:
            row += "— | — | — |"
        lines.append(row)
        print(f"  SHACL: {size} competencies", file=sys.stderr, flush=True)
        del graph
    return lines


def schema_rows(out: Path, size: int, repeat: int) -> list[str]:
    import yaml

    from ontology.schema_check import fast_validator, reference_validator

    files = sorted((ensure(out / f"synthetic-{size}", size) / "competencies").glob("*.yaml"))
    documents = [yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) for f in files]
    fast, slow = fast_validator("competency"), reference_validator("competency")

    def with_fast() -> int:
        for document in documents:
            fast(document)  # raises on an invalid document
        return len(documents)

    def with_jsonschema() -> int:
        return sum(1 for document in documents if not any(True for _ in slow.iter_errors(document)))

    quick, full = timed(with_fast, repeat), timed(with_jsonschema, repeat)
    if full[3] != len(documents):
        raise SystemExit("jsonschema found errors in the synthetic competencies")
    return ["| validator | valid competency files | ms per file (min–max) | ratio |", "|---|---:|---:|---:|",
            f"| fastjsonschema (compiled, as ontology/schema_check.py uses it) | {len(documents):,} | "
            f"{cell((quick[0] / len(documents), quick[1] / len(documents), quick[2] / len(documents), None), 1000, 3)} "
            f"| 1× |",
            f"| jsonschema `iter_errors` | {len(documents):,} | "
            f"{cell((full[0] / len(documents), full[1] / len(documents), full[2] / len(documents), None), 1000, 3)} "
            f"| {full[0] / quick[0]:.0f}× slower |"]


def json_rows(out: Path, size: int, repeat: int) -> list[str]:
    import orjson

    from exports import jsonld
    from competency_kg.compile import compile_catalogue

    graph = compile_catalogue(ensure(out / f"synthetic-{size}", size), shacl=False).graph
    nodes = list(jsonld.root_nodes(graph.ordered_groups))
    fast = timed(lambda: [orjson.dumps(node, option=orjson.OPT_INDENT_2) for node in nodes], repeat)
    slow = timed(lambda: [json.dumps(node, indent=2, ensure_ascii=False).encode("utf-8") for node in nodes], repeat)
    if fast[3] != slow[3]:
        raise SystemExit("orjson and json.dumps wrote different bytes for the same nodes")
    size_mib = sum(len(text) for text in fast[3]) / 2**20
    return ["| writer | nodes | MiB written | s (min–max) | ratio |", "|---|---:|---:|---:|---:|",
            f"| orjson, OPT_INDENT_2 (as exports/jsonld.py) | {len(nodes):,} | {size_mib:.1f} | {cell(fast, 1, 3)} | 1× |",
            f"| json.dumps(indent=2) | {len(nodes):,} | {size_mib:.1f} | {cell(slow, 1, 3)} | "
            f"{slow[0] / fast[0]:.1f}× slower |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyshacl-sizes", default="50,200")
    parser.add_argument("--compiled-sizes", default="50,200,2000,10000")
    parser.add_argument("--schema-size", type=int, default=2000, help="competency files for the schema check")
    parser.add_argument("--json-size", type=int, default=2000, help="competencies for the JSON writers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    command = ("python bench/claims.py " + " ".join(sys.argv[1:])).strip()
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    sizes = lambda text: [int(part) for part in text.split(",") if part]  # noqa: E731
    shacl = shacl_rows(args.out, sizes(args.pyshacl_sizes), sizes(args.compiled_sizes), args.repeat)
    schema = schema_rows(args.out, args.schema_size, args.repeat)
    writers = json_rows(args.out, args.json_size, args.repeat)
    text = "\n".join([
        SECTION, "",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average {load_start} at "
        f"the start, {' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end: other engineers' jobs share the "
        f"cores). Median of {args.repeat} runs, (min–max). Synthetic catalogues with two ESCO mappings per "
        f"competency.", "",
        "SHACL check of the built graph, one process each (the README's figures come from here; pyshacl is not "
        "run on the larger catalogues, and its time there is not extrapolated). Both engines must report the "
        "same findings (none) or the benchmark stops:", "", *shacl, "",
        f"Schema check of {args.schema_size:,} valid competency files (the loader's fast path; jsonschema then "
        "runs only on files with errors, to explain them):", "", *schema, "",
        f"Writing the nested JSON-LD nodes of {args.json_size:,} competencies with 2-space indentation (both "
        "writers' bytes compared equal):", "", *writers, ""])
    print(text)
    if args.write_results:
        write_section(text)


if __name__ == "__main__":
    main()
