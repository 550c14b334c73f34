"""``ckg publish``: load the checked catalogue into a triple store over the standard protocols.

The command only gathers what the user said; exports.publish does the work. Credentials come from
the environment (CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN) and never from options, so
they never appear in a process list, a shell history or a log line.
"""
from __future__ import annotations

import sys

import click

from competency_kg.compile import compile_catalogue
from exports.publish import Credentials, PublishError, publish as publish_graph
from ontology.problems import CatalogueError

from .settings import default_base, default_catalog


def _progress(sent: int, seconds: float) -> None:
    click.echo(f"  {sent:,} triples sent ({seconds:.1f} s)", err=True)


@click.command()
@click.argument("catalog_dir", required=False, type=click.Path(file_okay=False, path_type=str))
@click.option("--graph-store", required=True, metavar="URL",
              help="The engine's SPARQL 1.1 Graph Store endpoint, e.g. http://127.0.0.1:7878/store (Oxigraph) "
                   "or http://127.0.0.1:8890/sparql-graph-crud-auth (Virtuoso).")
@click.option("--graph", "graph_iri", metavar="IRI", help="The named graph to replace (default: the dataset IRI, the catalogue's base).")
@click.option("--update", metavar="URL",
              help="The engine's SPARQL 1.1 Update endpoint, for the switch (default: derived from --graph-store for "
                   "Oxigraph, Virtuoso, Fuseki and GraphDB).")
@click.option("--base", default=default_base, metavar="IRI", help="Base IRI (default: the catalogue's, or $CKG_BASE).")
@click.option("--chunk", "chunk_triples", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Triples per upload request.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on standard error.")
def publish(catalog_dir: str | None, graph_store: str, graph_iri: str | None, update: str | None, base: str | None,
            chunk_triples: int, quiet: bool) -> None:
    """Check CATALOG_DIR and load it into a triple store, replacing one named graph in a single switch.

    Credentials, if the engine asks for them: CKG_STORE_USER and CKG_STORE_PASSWORD (HTTP Basic, or
    Digest when the engine asks for it, as Virtuoso does), or CKG_STORE_TOKEN (Bearer).
    """
    try:
        compiled = compile_catalogue(catalog_dir or default_catalog(), base=base)
    except CatalogueError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(error.problems)} problem(s) found; nothing was published.", err=True)
        sys.exit(1)
    graph = graph_iri or compiled.catalogue.base
    try:
        result = publish_graph(compiled.graph.ordered_groups, graph_store=graph_store, graph=graph, update=update,
                               credentials=Credentials.from_env(), chunk_triples=chunk_triples,
                               progress=None if quiet else _progress)
    except PublishError as error:
        click.echo(f"ckg publish: {error}; <{graph}> was left as it was.", err=True)
        sys.exit(2)
    click.echo(f"published {result.triples:,} triples into <{result.graph}> at {graph_store} in {result.seconds:.1f} s")
