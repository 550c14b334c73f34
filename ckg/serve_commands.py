"""``ckg serve`` (the Linked Data service under gunicorn) and ``ckg query`` (a SPARQL client).

Every setting of ``serve`` is an option and an environment variable (CKG_HOST, CKG_PORT, …), so
the same command works on a laptop (no options at all) and in a container (environment only).
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Callable

import click

from linking.esco import EscoImportError
from ontology.problems import CatalogueError

from service.config import SETTINGS, ServiceConfig, Setting, SettingError

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


def _click_type(setting: Setting) -> click.ParamType:
    """The click type of a settings row: its Python type, bounded as the row says."""
    if setting.type is int:
        return click.IntRange(setting.minimum, setting.maximum)
    if setting.type is float:
        return click.FloatRange(setting.minimum, setting.maximum)
    return click.STRING


def _setting_options(command: Callable) -> Callable:
    """One option per row of the service's settings table (``service.config``), in the table's order."""
    for setting in reversed(SETTINGS):
        if setting.option == "":
            continue
        names = [setting.option or "--" + setting.name.replace("_", "-"), *([setting.short] if setting.short else [])]
        default = setting.default_value()
        shown = setting.shown if setting.shown is not None else f"{default:g}" if isinstance(default, float) else str(default)
        command = click.option(*names, setting.name, cls=EnvOption, envvar=setting.env, type=_click_type(setting),
                               default=None, metavar=setting.metavar, show_envvar=True,
                               help=f"{setting.help}  [default: {shown}]")(command)
    return command


@click.command()
@click.argument("catalog_dir", required=False, type=click.Path(file_okay=False, path_type=str))
@_setting_options
@click.option("--access-log", is_flag=True, help="Log every request to standard output.")
@click.option("--watch", is_flag=True, help="Reload whenever a file under CATALOG_DIR changes (as on SIGHUP).")
def serve(catalog_dir: str | None, access_log: bool, watch: bool, **settings) -> None:
    """Serve CATALOG_DIR (default: $CKG_CATALOG or the bundled catalogue), or with --store URL the catalogue a
    SPARQL engine holds (no folder needed), as Linked Data and SPARQL.

    Every IRI of the catalogue dereferences on this server, and {base}sparql answers SPARQL 1.1
    queries at http://HOST:PORT/sparql. Every option can also be set by its environment variable.
    """
    from service.app import create_app
    from service.engine import EngineError, shown
    from service.scratch import private_temporary_folder
    from service.server import serve as run_server

    try:
        config = ServiceConfig.from_env(catalog_dir=catalog_dir, **settings)
    except SettingError as error:
        raise click.UsageError(str(error)) from None
    if config.store and catalog_dir:
        raise click.UsageError(f"give either CATALOG_DIR ({catalog_dir}) or --store, not both: with --store the "
                               f"catalogue is read from the engine")
    if config.store and watch:
        raise click.UsageError("--watch reloads a catalogue folder; with --store there is none (send SIGHUP to "
                               "re-read the engine after publishing)")
    _check_port_free(config.host, config.port)
    try:  # the store (with ESCO) is filled here, in the master, so a bad ESCO file stops start-up
        app = create_app(config)
    except (EngineError, ValueError) as error:
        if not config.store:
            raise
        click.echo(f"cannot serve from {shown(config.store)}: {getattr(error, 'message', error)}; the server was not "
                   f"started.", err=True)
        sys.exit(1)
    except CatalogueError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        count = len(error.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''} found in {config.catalog_dir}; the server was not "
                   f"started.", err=True)
        sys.exit(1)
    except (EscoImportError, OSError) as error:
        if not config.esco:
            raise
        click.echo(f"cannot load the ESCO graph {config.esco}: {error}; the server was not started.", err=True)
        sys.exit(1)
    with private_temporary_folder():  # the workers' downloads (unless CKG_DOWNLOADS_DIR) go below it, and go with it
        run_server(app, config, access_log=access_log, watch=watch)


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
