"""Benchmark: the pre-execution SPARQL scan (service.sparql.analysis) is linear in the size of the text.

For each input shape — an ordinary query repeated, and texts built to make a naive scanner rescan
(letters and dots with no ':', '<' that never closes, '(' that never closes, long strings, deep
nesting) — it times ``analyse`` at sizes from 4 KB to 4 MB (best of --repeat runs) and prints
microseconds per KB. Linear work shows as a flat row; a quadratic scan would grow 1000x across it.
The unit test (tests/test_sparql_analysis.py) asserts the same with an operation count, no clock.

Usage: python bench/sparql_analysis_scaling.py [--repeat 3] [--sizes 4,64,1024,4096]   (KB; the last column
compares the largest with the smallest)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from service.sparql.analysis import SparqlLexError, analyse  # noqa: E402

SHAPES = {
    "ordinary query": "SELECT ?x WHERE { ?x <http://x/p> 'a'@en, 1.5 ; ex:q ?y FILTER(?y > 2) } ",
    "a.a.a… no colon": "a.",
    "'<' never an IRI": "?a< ",
    "'(' never closed": "( ",
    "strings": "'it''s' \"\"\"x\"\"\" ",
    "nested groups": "{ ",
    "unterminated ''' at the end": None,
}
SIZES_KB = (4, 64, 1024, 4096)


def text_of(shape: str, unit: str | None, size: int) -> str:
    if unit is None:
        return "SELECT * { ?s ?p ?o } " * (size // 22) + "'''"
    return unit * (size // len(unit))


def best_seconds(text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            analyse(text)
        except SparqlLexError:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES_KB)),
                        help="input sizes in KB, smallest first (small ones for a quick check that the script runs)")
    args = parser.parse_args()
    sizes = [int(kb) for kb in args.sizes.split(",")]
    header = "| input | " + " | ".join(f"{kb} KB µs/KB" for kb in sizes) + f" | {sizes[-1]} KB / {sizes[0]} KB |"
    print(header)
    print("|" + "---|" * (len(sizes) + 2))
    for shape, unit in SHAPES.items():
        per_kb = [best_seconds(text_of(shape, unit, kb * 1024), args.repeat) / kb * 1e6 for kb in sizes]
        print(f"| {shape} | " + " | ".join(f"{v:,.0f}" for v in per_kb) + f" | {per_kb[-1] / per_kb[0]:.2f}x |")


if __name__ == "__main__":
    main()
