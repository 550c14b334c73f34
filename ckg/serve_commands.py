"""``ckg serve`` (the Linked Data service under gunicorn) and ``ckg query`` (a SPARQL client).

Every setting of ``serve`` is an option and an environment variable (CKG_HOST, CKG_PORT, …), so
the same command works on a laptop (no options at all) and in a container (environment only).
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from linking.esco import EscoImportError
from ontology.problems import CatalogueError

from .settings import default_base, default_catalog

DEFAULT_ENDPOINT = "http://127.0.0.1:8000/sparql"


class EnvOption(click.Option):
    """An option that, when its bad value came from its environment variable, says so in the error."""

    def process_value(self, ctx: click.Context, value):
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as error:
            if ctx.get_parameter_source(self.name) is click.core.ParameterSource.ENVIRONMENT:
                error.param_hint = f"${self.envvar} (for {self.opts[0]})"
            raise


def _check_port_free(host: str, port: int) -> None:
    """Fail fast with a readable message instead of gunicorn's retry loop when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error}. "
                                   f"Choose another port with --port (or CKG_PORT), or stop what uses it.") from None


@click.command()
@click.argument("catalog_dir", required=False, type=click.Path(file_okay=False, path_type=str))
@click.option("--host", cls=EnvOption, envvar="CKG_HOST", default="127.0.0.1", show_default=True,
              help="Interface to listen on ($CKG_HOST); 0.0.0.0 to serve other machines.")
@click.option("--port", "-p", cls=EnvOption, envvar="CKG_PORT", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="TCP port ($CKG_PORT).")
@click.option("--workers", "-w", cls=EnvOption, envvar="CKG_WORKERS", type=click.IntRange(min=1), default=None,
              help="gunicorn worker processes ($CKG_WORKERS; default: one per CPU core).")
@click.option("--threads", cls=EnvOption, envvar="CKG_THREADS", type=click.IntRange(min=1), default=None,
              help="Request threads per worker, each with its own SPARQL query process ($CKG_THREADS; default 4).")
@click.option("--base", cls=EnvOption, envvar="CKG_BASE", default=default_base, metavar="IRI",
              help="Base IRI of the catalogue's IRIs ($CKG_BASE; default: the catalogue's own).")
@click.option("--query-timeout", cls=EnvOption, envvar="CKG_QUERY_TIMEOUT", type=click.FloatRange(min=0.1), default=None,
              metavar="SECONDS", help="Time limit of one SPARQL query; past it the query is killed and the client "
                                      "gets 503 ($CKG_QUERY_TIMEOUT; default 10).")
@click.option("--max-results", cls=EnvOption, envvar="CKG_MAX_RESULTS", type=click.IntRange(min=1), default=None,
              help="Most rows/triples one SPARQL answer may have; larger answers are refused, never cut "
                   "($CKG_MAX_RESULTS; default 10000).")
@click.option("--query-memory", cls=EnvOption, envvar="CKG_QUERY_MEMORY", type=click.IntRange(min=0), default=None,
              metavar="MB", help="Memory one SPARQL query may allocate; past it the query is stopped and the client "
                                 "gets 503 ($CKG_QUERY_MEMORY; default 1024, 0 = no limit).")
@click.option("--esco", cls=EnvOption, envvar="CKG_ESCO", default=None, metavar="FILE",
              help="An ESCO import (`ckg esco import … --out FILE`) to serve as ESCO's named graph ($CKG_ESCO).")
@click.option("--access-log", is_flag=True, help="Log every request to standard output.")
def serve(catalog_dir: str | None, host: str, port: int, workers: int | None, threads: int | None, base: str | None,
          query_timeout: float | None, max_results: int | None, query_memory: int | None, esco: str | None,
          access_log: bool) -> None:
    """Serve CATALOG_DIR (default: $CKG_CATALOG or the bundled catalogue) as Linked Data and SPARQL.

    Every IRI of the catalogue dereferences on this server, and {base}sparql answers SPARQL 1.1
    queries at http://HOST:PORT/sparql.
    """
    from service.app import create_app
    from service.config import ServiceConfig
    from service.server import serve as run_server

    config = ServiceConfig.from_env(catalog_dir=catalog_dir or default_catalog(), base=base, host=host, port=port,
                                    workers=workers, threads=threads, query_timeout=query_timeout,
                                    max_results=max_results, query_memory=query_memory, esco=esco)
    _check_port_free(config.host, config.port)
    try:
        app = create_app(config)
    except CatalogueError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        count = len(error.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found in {config.catalog_dir}; the server was not "
                   f"started.", err=True)
        sys.exit(1)
    try:  # fill the store now, in the master, so a bad ESCO file stops start-up with a clear message
        app.extensions["ckg"].store
    except (EscoImportError, OSError) as error:
        click.echo(f"cannot load the ESCO graph {config.esco}: {error}; the server was not started.", err=True)
        sys.exit(1)
    run_server(app, config, access_log=access_log)


QUERY_FORMATS = ["table", "json", "xml", "csv", "tsv", "turtle", "jsonld", "rdfxml"]


def _read_query(query_or_file: str) -> str:
    if query_or_file == "-":
        return sys.stdin.read()
    path = Path(query_or_file)
    if len(query_or_file) < 4096 and "\n" not in query_or_file and path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise click.ClickException(f"cannot read the query file {path}: {error}") from None
    return query_or_file


def _table(result: dict) -> str:
    """SPARQL JSON results as an aligned text table (IRIs and literals shown by their value)."""
    if "boolean" in result:
        return "true" if result["boolean"] else "false"
    names = result["head"].get("vars", [])
    rows = [[binding.get(name, {}).get("value", "") for name in names] for binding in result["results"]["bindings"]]
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, name in enumerate(names)]
    line = lambda cells: "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()  # noqa: E731
    out = [line(names), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


@click.command()
@click.argument("query_or_file")
@click.option("--endpoint", "-e", envvar="CKG_ENDPOINT", default=DEFAULT_ENDPOINT, show_default=True,
              help="SPARQL endpoint URL ($CKG_ENDPOINT).")
@click.option("--format", "-f", "fmt", type=click.Choice(QUERY_FORMATS), default="table", show_default=True,
              help="table: aligned text for SELECT/ASK, Turtle for CONSTRUCT/DESCRIBE; others: the raw answer.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60, show_default=True, metavar="SECONDS",
              help="How long to wait for the answer.")
def query(query_or_file: str, endpoint: str, fmt: str, timeout: float) -> None:
    """Run a SPARQL query (text, a file name, or - for standard input) against a SPARQL endpoint."""
    import json
    import urllib.error

    from SPARQLWrapper import POST, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    text = _read_query(query_or_file)
    client = SPARQLWrapper(endpoint)
    client.setMethod(POST)
    client.setTimeout(int(timeout) if timeout >= 1 else 1)
    client.setOnlyConneg(True)
    client.setQuery(text)
    graph = client.queryType in ("CONSTRUCT", "DESCRIBE")
    wire = {"table": "turtle" if graph else "json", "rdfxml": "xml" if graph else "rdf+xml", "jsonld": "json-ld"}
    client.setReturnFormat(wire.get(fmt, fmt))
    try:
        response = client.query().response
        body = response.read()
    except SPARQLWrapperException as error:
        raise click.ClickException(f"{endpoint} refused the query: {_server_message(error)}") from None
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()
        raise click.ClickException(f"{endpoint} answered {error.code} {error.reason}: {detail}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise click.ClickException(f"{endpoint} gave no answer within {timeout:g} s.") from None
        raise click.ClickException(f"cannot reach {endpoint}: {reason}. Is the server running (ckg serve)?") from None
    except (TimeoutError, socket.timeout):
        raise click.ClickException(f"{endpoint} gave no answer within {timeout:g} s.") from None
    except ValueError as error:
        raise click.ClickException(f"cannot use endpoint {endpoint!r}: {error}") from None
    if fmt == "table" and not graph:
        try:
            click.echo(_table(json.loads(body)))
        except (ValueError, KeyError) as error:
            raise click.ClickException(f"{endpoint} did not answer with SPARQL JSON results: {error}") from None
        return
    sys.stdout.buffer.write(body if body.endswith(b"\n") else body + b"\n")


def _server_message(error: Exception) -> str:
    """The endpoint's own explanation, without SPARQLWrapper's generic guess ("probably badly formed").

    SPARQLWrapper keeps the response body only inside its message, as the repr of the bytes.
    """
    import ast

    _, marker, raw = str(error).partition("Response:\n")
    if marker:
        try:
            body = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            body = None
        if isinstance(body, bytes) and body.strip():
            return body.decode("utf-8", "replace").strip()
    return str(error)
