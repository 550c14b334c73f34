"""Benchmark: how well do `ckg link suggest`'s candidates find the curated ESCO mappings?

For every catalogue item that has curated mappings (catalog/mappings/*.sssom.tsv), the top-k
candidates are compared with the curated objects:
precision@k = curated objects among the k candidates / k, recall@k = that number / curated objects,
both averaged over the items. Several index settings are measured, so the effect of each field
(alternative labels, descriptions) and of the reuse-level prior can be read off the table.
The curated set is small (18 items, 21 mappings) and the default settings were chosen on it,
so read the figures as a sanity check of the method, not as a held-out score.

Usage: python bench/suggest.py [--esco ../shared/esco | --esco esco.nq] [--write-results]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.esco_import import DEFAULT_ESCO  # noqa: E402
from bench.results import write_section  # noqa: E402
from catalog import CATALOG_DIR  # noqa: E402
from linking.suggest import Index, catalogue_items, esco_skills, suggest  # noqa: E402
from competency_kg.compile import compile_catalogue  # noqa: E402
from linking.esco import esco_quads, load_esco_into, output_format, EscoImportError  # noqa: E402
from pyoxigraph import Store  # noqa: E402

SECTION = "Mapping suggestions"
SETTINGS = {
    "TF-IDF, preferred labels only": dict(use_alt=False, use_description=False, prior=False, scoring="tfidf"),
    "TF-IDF + alternative labels": dict(use_alt=True, use_description=False, prior=False, scoring="tfidf"),
    "TF-IDF + descriptions": dict(use_alt=True, use_description=True, prior=False, scoring="tfidf"),
    "TF-IDF + reuse-level prior": dict(use_alt=True, use_description=True, prior=True, scoring="tfidf"),
    "BM25, all texts, no prior": dict(use_alt=True, use_description=True, prior=False, scoring="bm25"),
    "BM25 + reuse-level prior (default)": dict(use_alt=True, use_description=True, prior=True, scoring="bm25"),
}
KS = (1, 3, 5, 10)


def _store(esco: Path) -> Store:
    store = Store()
    try:
        output_format(esco)
        load_esco_into(store, esco)
    except EscoImportError:
        store.bulk_extend(esco_quads(sorted(esco.glob("*.zip")) if esco.is_dir() else [esco]))
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--esco", type=Path, default=DEFAULT_ESCO, help="ESCO downloads folder or an ESCO import file")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    store = _store(args.esco)
    skills = esco_skills(store)
    compiled = compile_catalogue(CATALOG_DIR)
    graph, sets = compiled.graph, compiled.mapping_sets
    gold: dict[str, set[str]] = {}
    for mapping_set in sets:
        for m in mapping_set.mappings:
            gold.setdefault(m.subject, set()).add(m.object)
    items = [i for i in catalogue_items(graph.store()) if i.iri in gold]
    table = ["| setting | " + " | ".join(f"P@{k} | R@{k}" for k in KS) + " | index (s) |",
             "|---|" + "---:|---:|" * len(KS) + "---:|"]
    for name, setting in SETTINGS.items():
        started = time.perf_counter()
        index = Index(skills, **setting)
        built = time.perf_counter() - started
        ranked: dict[str, list[str]] = {}
        for s in suggest(items, index, max(KS)):
            ranked.setdefault(s.item.iri, []).append(s.concept.iri)
        cells = []
        for k in KS:
            hits = [len(set(ranked.get(i.iri, [])[:k]) & gold[i.iri]) for i in items]
            precision = sum(h / k for h in hits) / len(items)
            recall = sum(h / len(gold[i.iri]) for h, i in zip(hits, items)) / len(items)
            cells.append(f"{precision:.3f} | {recall:.3f}")
        table.append(f"| {name} | " + " | ".join(cells) + f" | {built:.1f} |")
    text = "\n".join([
        f"## {SECTION}",
        "",
        "Command: `python bench/suggest.py --write-results` (ESCO v1.1.1 English CSV downloads; "
        f"{len(skills):,} skills; {len(items)} catalogue items with {sum(map(len, gold.values()))} curated mappings).",
        "Method: BM25 (and TF-IDF cosine as baseline) over ESCO's English texts, plain Python (linking/suggest.py); "
        "P@k and R@k averaged over the items.",
        "",
        *table,
        "",
        "The curated set is small and the defaults were picked on it: a sanity check, not a held-out score.",
        "",
    ])
    print(text)
    if args.write_results:
        write_section(text)


if __name__ == "__main__":
    main()
