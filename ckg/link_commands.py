"""``ckg esco …`` and ``ckg link …``: bring ESCO in, and keep the catalogue's links to it honest.

* ``ckg esco import PATH… --out esco.nq`` turns ESCO's official downloads into a named graph file;
* ``ckg link check --esco esco.nq`` checks every mapping's object against that ESCO;
* ``ckg link refresh --endpoint URL`` stores the labels of every linked concept for offline use;
* ``ckg link suggest --target esco`` proposes candidate mappings for a curator to review.
"""
from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import click
from pyoxigraph import NamedNode, Store

from competency_kg.compile import Compiled, compile_catalogue
from linking.catalogue import MAPPINGS_DIR
from linking.enrich import EnrichmentError, fetch, write_labels
from linking.esco import (ATTRIBUTION, ESCO_GRAPH, EscoImportError, check_mapped_concepts, import_esco, load_esco,
                          load_esco_into)
from linking.suggest import Index, catalogue_items, esco_skills, suggest, write_sssom
from ontology.namespaces import OWL, compact
from ontology.problems import CatalogueError

from .settings import default_base, default_catalog


def _compiled(catalog_dir: str | None, base: str | None) -> Compiled:
    """The catalogue, its graph and its mapping sets, or exit 1 listing the problems."""
    try:
        return compile_catalogue(catalog_dir or default_catalog(), base=base, shacl=False)
    except CatalogueError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(error.problems)} problem(s) in the catalogue; fix them first ('ckg validate').", err=True)
        sys.exit(1)


def _progress(message: str) -> None:
    """One progress line on standard error, shown at once (an import of all ESCO takes a while)."""
    click.echo(message, err=True)


catalog_option = click.option("--catalog", "catalog_dir", type=click.Path(file_okay=False), default=None,
                              help="Catalogue folder (default: the bundled one, or $CKG_CATALOG).")
base_option = click.option("--base", default=default_base, metavar="IRI", help="Base IRI (default: the catalogue's, or $CKG_BASE).")


@click.group()
def esco() -> None:
    """ESCO, the European classification of skills and occupations, as a named graph."""


@esco.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write: .nq (N-Quads) or .trig, optionally .gz.")
@click.option("--graph", default=None, metavar="IRI", help="Named graph to import into (default: the project's ESCO graph).")
@click.option("--language", "languages", multiple=True, default=("en",), show_default=True,
              help="Languages to keep (repeat for more); the CSV downloads are per language.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on standard error.")
def esco_import(paths: tuple[Path, ...], out: Path, graph: str | None, languages: tuple[str, ...], quiet: bool) -> None:
    """Import ESCO's official downloads (CSV zips, folders, CSV files, or an RDF dump) into OUT.

    \b
    Example:
      ckg esco import esco-v1.1.1-classification-en-csv.zip esco-v1.1.1-relations-csv.zip --out esco.nq
    """
    started = time.perf_counter()
    progress = (lambda _: None) if quiet else _progress
    try:
        stats = import_esco(paths, out, graph=graph or ESCO_GRAPH, languages=languages, progress=progress)
    except EscoImportError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise click.ClickException(f"could not import ESCO: {error}") from None
    click.echo(f"{out}: {stats.summary()} in {time.perf_counter() - started:.1f} s")
    click.echo(ATTRIBUTION)


@click.group()
def link() -> None:
    """Links from the catalogue to other frameworks (SSSOM mapping sets in catalog/mappings/)."""


@link.command("check")
@click.option("--esco", "esco_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An ESCO import made by 'ckg esco import'.")
@catalog_option
@base_option
def link_check(esco_file: Path, catalog_dir: str | None, base: str | None) -> None:
    """Check that every mapped ESCO concept exists in ESCO and is not obsolete."""
    sets = _compiled(catalog_dir, base).mapping_sets
    store = Store()
    try:
        load_esco_into(store, esco_file)
    except (EscoImportError, OSError, SyntaxError) as error:
        raise click.ClickException(f"cannot load {esco_file}: {error}") from None
    problems = check_mapped_concepts(sets, store)
    for problem in problems:
        click.echo(str(problem), err=True)
    total = sum(len(s.mappings) for s in sets)
    if problems:
        click.echo(f"{len(problems)} of {total} mappings need attention.", err=True)
        sys.exit(1)
    click.echo(f"{total} mappings in {len(sets)} set(s): every ESCO object exists and is released.")


@link.command("refresh")
@click.option("--endpoint", required=True, metavar="URL", help="A SPARQL 1.1 endpoint that knows the linked concepts.")
@click.option("--namespace", default="http://data.europa.eu/esco/", show_default=True, metavar="IRI",
              help="Refresh the concepts under this namespace (one framework per labels file).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Labels file to write (default: <catalog>/mappings/esco-labels.ttl).")
@click.option("--language", "languages", multiple=True, default=("en",), show_default=True, help="Label languages to keep.")
@click.option("--source-version", default=None, help="Version of the framework the endpoint serves, for the header "
              "(default: the mapping sets' object_source_version).")
@click.option("--timeout", type=click.FloatRange(min=0.5), default=30.0, show_default=True, help="Seconds to wait per query.")
@click.option("--keep-going", is_flag=True, help="Write the file even if the endpoint does not know some concepts.")
@catalog_option
@base_option
def link_refresh(endpoint: str, namespace: str, out: Path | None, languages: tuple[str, ...], source_version: str | None,
                 timeout: float, keep_going: bool, catalog_dir: str | None, base: str | None) -> None:
    """Fetch labels and descriptions of every linked concept, and store them in the catalogue for offline use."""
    sets = _compiled(catalog_dir, base).mapping_sets
    concepts = sorted({m.object for s in sets for m in s.mappings if m.object.startswith(namespace)})
    if not concepts:
        raise click.ClickException(f"no mapping points into {namespace}; nothing to refresh")
    prefixes = {k: v for s in sets for k, v in s.prefixes.items()}
    try:
        found = fetch(endpoint, concepts, languages=languages, timeout=timeout)
    except EnrichmentError as error:
        raise click.ClickException(str(error)) from None
    if found.unknown:
        for concept in found.unknown:
            click.echo(f"{endpoint} knows nothing about {compact(concept, prefixes)} ({concept})", err=True)
        if not keep_going:
            raise click.ClickException(f"{len(found.unknown)} of {len(concepts)} linked concepts are unknown to the "
                                       "endpoint; nothing written (check the mappings, or pass --keep-going)")
    versions = {str(s.metadata.get("object_source_version")) for s in sets if s.metadata.get("object_source_version")}
    target = out or Path(catalog_dir or default_catalog()) / MAPPINGS_DIR / "esco-labels.ttl"
    write_labels(found, target, source_version=source_version or ", ".join(sorted(versions)) or None)
    click.echo(f"{target}: {len(found.triples)} statements about {len(concepts) - len(found.unknown)} of {len(concepts)} concepts from {endpoint}")


@link.command("suggest")
@click.option("--target", type=click.Choice(["esco"]), default="esco", show_default=True, help="Framework to map to.")
@click.option("--esco", "esco_paths", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="An ESCO import (.nq/.trig from 'ckg esco import') or ESCO's downloads themselves; repeatable.")
@click.option("--top", "-k", type=click.IntRange(min=1, max=100), default=5, show_default=True, help="Candidates per item.")
@click.option("--min-score", type=click.FloatRange(0.0, 1.0), default=0.0, show_default=True, help="Drop weaker candidates.")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SSSOM/TSV file to write (default: standard output).")
@catalog_option
@base_option
def link_suggest(target: str, esco_paths: tuple[Path, ...], top: int, min_score: float, out: Path | None,
                 catalog_dir: str | None, base: str | None) -> None:
    """Propose candidate mappings for every competency, level and criterion, as SSSOM rows to review."""
    compiled = _compiled(catalog_dir, base)
    graph, sets = compiled.graph, compiled.mapping_sets
    store = Store()
    started = time.perf_counter()
    try:
        load_esco(store, esco_paths)
    except (EscoImportError, OSError, SyntaxError) as error:
        raise click.ClickException(f"cannot read ESCO: {error}") from None
    skills = esco_skills(store)
    if not skills:
        raise click.ClickException("the ESCO data holds no skills with English labels; was it imported with --language en?")
    index = Index(skills)
    items = catalogue_items(graph.store())
    found = [s for s in suggest(items, index, top) if s.score >= min_score]
    versions = [q.object.value for q in store.quads_for_pattern(None, NamedNode(OWL + "versionInfo"), None)]
    curated = {(m.subject, m.object) for s in sets for m in s.mappings}
    target_stream = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        rows = write_sssom(found, target_stream, base=graph.iris.base, date=dt.date.today().isoformat(),
                           esco_version=versions[0] if versions else None, curated=curated)
    finally:
        if out:
            target_stream.close()
    click.echo(f"{rows} candidate mappings for {len(items)} items from {len(skills):,} ESCO skills "
               f"in {time.perf_counter() - started:.1f} s{f' -> {out}' if out else ''}", err=True)

