"""``ckg publish``: load a checked catalogue, its releases, or one release into a triple store.

The command only gathers what the user said; exports.publish does the work. PATH is either a
catalogue folder (checked and built; its releases not yet in the engine are loaded first, then the
current catalogue replaces the current graph) or one release folder (``releases/<version>/``:
loaded from its own N-Triples dump, no YAML needed). Credentials come from the environment
(CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN) and never from options, so they never
appear in a process list, a shell history or a log line.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from competency_kg.compile import compile_catalogue
from exports.publish import (CHUNK_TRIPLES, Credentials, PublishError, PublishResult, ReleaseFolderProblem,
                             check_iri, open_store, publish_current, publish_releases, read_release, release_folders)
from ontology.problems import CatalogueError
from ontology.releases import MANIFEST

from .settings import default_base, default_catalog


def _progress(label: str, sent: int, seconds: float) -> None:
    click.echo(f"  {label}: {sent:,} triples sent ({seconds:.1f} s)", err=True)


def _notice(text: str) -> None:
    click.echo(f"  {text}", err=True)


def _say_releases(results: list[PublishResult]) -> None:
    for result in results:
        if result.skipped:
            click.echo(f"<{result.graph}> is already published with the same content (SHA-256): skipped")
        else:
            click.echo(f"published {result.triples:,} triples into <{result.graph}> in {result.seconds:.1f} s")


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--graph-store", required=True, metavar="URL",
              help="The engine's SPARQL 1.1 Graph Store endpoint, e.g. http://127.0.0.1:7878/store (Oxigraph) "
                   "or http://127.0.0.1:8890/sparql-graph-crud-auth (Virtuoso).")
@click.option("--graph", "graph_iri", metavar="IRI",
              help="The name readers use for the current catalogue (default: the dataset IRI, the catalogue's base); "
                   "the graph that holds it is found through the pointer graph (README).")
@click.option("--update", metavar="URL",
              help="The engine's SPARQL 1.1 Update endpoint (default: derived from --graph-store for "
                   "Oxigraph, Virtuoso, Fuseki and GraphDB).")
@click.option("--query", metavar="URL", help="The engine's SPARQL query endpoint, to read what is published "
                                             "(default: derived from --graph-store like --update).")
@click.option("--base", default=default_base, metavar="IRI", help="Base IRI (default: the catalogue's or the "
                                                                  "release's, or $CKG_BASE).")
@click.option("--chunk", "chunk_triples", type=click.IntRange(min=1), default=CHUNK_TRIPLES, show_default=True,
              help="Triples per upload request (each request also stays under ~32 MB of N-Triples: "
                   "Virtuoso never answered one of 100 MB).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on standard error.")
def publish(path: Path | None, graph_store: str, graph_iri: str | None, update: str | None, query: str | None,
            base: str | None, chunk_triples: int, quiet: bool) -> None:
    """Publish PATH (a catalogue folder, or one release folder) into a triple store.

    \b
    A catalogue: every release under PATH/releases/ that the engine does not have yet goes into the
    named graph of its version IRI ({base}release/<version>/), then the current catalogue is loaded
    beside the current graph and switched to in one tiny update. A release already in the engine
    is skipped when unchanged and refused when changed (releases are immutable).
    A release folder: that one release, from its own dumps.

    Credentials, if the engine asks for them: CKG_STORE_USER and CKG_STORE_PASSWORD (HTTP Basic, or
    Digest when the engine asks for it, as Virtuoso does), or CKG_STORE_TOKEN (Bearer).
    """
    folder = path or Path(default_catalog())
    progress = None if quiet else _progress
    try:
        if graph_iri:
            check_iri(graph_iri)
        if (folder / MANIFEST).is_file():
            if graph_iri:
                raise click.UsageError("--graph names the current catalogue's graph; a release folder goes into "
                                       "the graph of its version IRI ({base}release/<version>/): leave --graph out")
            release = read_release(folder, base)
            store = open_store(graph_store, update=update, query=query, credentials=Credentials.from_env())
            _say_releases(publish_releases([release], store, chunk_triples=chunk_triples, progress=progress))
            return
        try:
            compiled = compile_catalogue(folder, base=base)
        except CatalogueError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(error.problems)} problem(s) found; nothing was published.", err=True)
            sys.exit(1)
        releases = [read_release(sub, compiled.catalogue.base) for sub in release_folders(folder)]
        current = graph_iri or compiled.catalogue.base
        store = open_store(graph_store, update=update, query=query, credentials=Credentials.from_env())
        _say_releases(publish_releases(releases, store, chunk_triples=chunk_triples, progress=progress))
        result = publish_current(compiled.graph.ordered_groups, store, current, chunk_triples=chunk_triples,
                                 progress=progress, notice=None if quiet else _notice)
    except ReleaseFolderProblem as error:
        click.echo(f"ckg publish: {error}; nothing was published.", err=True)
        sys.exit(1)
    except PublishError as error:
        click.echo(f"ckg publish: {error}; the current graph was left as it was.", err=True)
        sys.exit(2)
    click.echo(f"published {result.triples:,} triples as the current <{current}> (graph <{result.graph}>) "
               f"at {graph_store} in {result.seconds:.1f} s")
