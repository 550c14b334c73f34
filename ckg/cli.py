"""``ckg``: build, check, export and serve the competency knowledge graph.

Every failure a user can cause ends in a readable message and a non-zero exit status:
1 for problems in the catalogue, 2 for wrong usage, 3 for anything unexpected.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import BinaryIO

import click

from competency_kg.compile import Compiled, compile_catalogue
from exports import jsonld
from exports.changes import removals_without_deprecation
from exports.rdf import write_rdf
from exports.release import ExportError, write_checked_file, write_release
from ontology.parallel import processes
from ontology.problems import CatalogueError
from ontology.shacl import validate_graph

from .link_commands import esco, link
from .publish_commands import publish
from .release_commands import release
from .serve_commands import query, serve
from .settings import default_base, default_catalog

catalog_argument = click.argument("catalog_dir", required=False, type=click.Path(file_okay=False, path_type=str))
base_option = click.option("--base", default=default_base, metavar="IRI",
                           help="Base IRI for the catalogue's IRIs (default: the catalogue's 'base', or $CKG_BASE).")
jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                           help="Worker processes for large catalogues (default: one per core).")


def _report(error: CatalogueError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    count = len(error.problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''} found; nothing was built.", err=True)
    sys.exit(1)


def _compile(catalog_dir: str | None, base: str | None, jobs: int | None, timings: dict[str, float] | None = None,
             shacl: bool = True) -> Compiled:
    try:
        return compile_catalogue(catalog_dir or default_catalog(), base=base, jobs=jobs, timings=timings, shacl=shacl)
    except CatalogueError as error:
        _report(error)


def _summary(catalogue, graph) -> str:
    criteria = sum(len(level.criteria) for c in catalogue.competencies for level in c.levels)
    return (f"{len(catalogue.competencies)} competencies, {len(catalogue.levels)} levels, "
            f"{sum(len(c.levels) for c in catalogue.competencies)} competency levels, {criteria} criteria, "
            f"{len(graph)} triples")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="competency-kg")
def cli() -> None:
    """Competency knowledge graph: YAML catalogue in, Linked Data out."""


@cli.command()
@catalog_argument
@base_option
@jobs_option
def validate(catalog_dir: str | None, base: str | None, jobs: int | None) -> None:
    """Check CATALOG_DIR (default: the bundled catalogue) and report every problem at once."""
    compiled = _compile(catalog_dir, base, jobs)
    removed = removals_without_deprecation(catalog_dir or default_catalog(), compiled.catalogue, compiled.graph)
    if removed:  # a published IRI must keep answering: see catalog/GUIDE.md, "Deprecating instead of deleting"
        _report(CatalogueError(removed))
    click.echo(f"{catalog_dir or default_catalog()}: OK — {_summary(compiled.catalogue, compiled.graph)}; conforms to the SHACL shapes.")


@cli.command()
@catalog_argument
@base_option
@jobs_option
@click.option("--format", "-f", "fmt", type=click.Choice(["ttl", "nt", "rdf", "jsonld"]), default="ttl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: standard output).")
def build(catalog_dir: str | None, base: str | None, jobs: int | None, fmt: str, output: Path | None) -> None:
    """Check and build the graph, and write it in one RDF format."""
    graph = _compile(catalog_dir, base, jobs, shacl=False).graph

    def write(out: BinaryIO) -> None:
        if fmt == "jsonld":
            jsonld.write_dataset(jsonld.root_nodes(graph.ordered_groups), out)
        else:
            write_rdf(graph, out, fmt)

    try:
        check = lambda: validate_graph(graph, processes=processes(jobs))  # noqa: E731
        if output is not None:  # the SHACL check runs while the file is written; failing it writes nothing
            write_checked_file(graph, output, write, check=check)
        else:  # standard output cannot be taken back: check first
            problems = check()
            if problems:
                raise CatalogueError(problems)
            write(sys.stdout.buffer)
    except CatalogueError as error:
        _report(error)
    except (ExportError, OSError) as error:
        raise click.ClickException(f"build failed, {output or 'standard output'} not written: {error}") from None


@cli.command()
@catalog_argument
@base_option
@jobs_option
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("dist"), show_default=True,
              help="Folder to write the release into; replaced as a whole, only on success.")
@click.option("--verify", is_flag=True, help="Parse every file back (RDF dumps, JSON-LD, CSV, SSSOM) and check its triple or row count before publishing.")
@click.option("--timings", is_flag=True, help="Print the seconds spent in each phase to standard error.")
def export(catalog_dir: str | None, base: str | None, jobs: int | None, out: Path, verify: bool, timings: bool) -> None:
    """Write the release: Turtle, N-Triples, RDF/XML, JSON-LD, CSV and a manifest."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    compiled = _compile(catalog_dir, base, jobs, phases, shacl=False)
    catalogue, graph = compiled.catalogue, compiled.graph
    metadata = {"title": catalogue.title, "version": catalogue.version, "base": catalogue.base,
                "modified": catalogue.modified}
    write_started = time.perf_counter()
    try:  # the SHACL check runs while the files are written; failing it publishes nothing
        files = write_release(graph, out, metadata=metadata, verify=verify, check=lambda: validate_graph(graph))
    except CatalogueError as error:
        _report(error)
    except (ExportError, OSError) as error:
        raise click.ClickException(f"export failed, {out} left as it was: {error}") from None
    phases["shacl+write"] = time.perf_counter() - write_started
    if timings:
        click.echo("timings: " + " ".join(f"{phase}={seconds:.2f}s" for phase, seconds in phases.items()), err=True)
    for file in files:
        count = f"{file.triples} triples" if file.triples is not None else f"{file.rows} rows" if file.rows is not None else ""
        click.echo(f"  {out / file.name}  {file.bytes:>12,} bytes  {count}")
    click.echo(f"{out}: {_summary(catalogue, graph)} in {time.perf_counter() - started:.1f} s")


for command in (serve, query, esco, link, release, publish):  # each group of commands lives in its own module
    cli.add_command(command)


def main() -> None:
    """Entry point: a bug surfaces as a short message and exit 3, never as a raw traceback."""
    try:
        cli(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence for the user
        click.echo(f"ckg: internal error: {type(error).__name__}: {error}. Please report it with the command you ran.", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
