"""The SPARQL 1.1 query endpoint at ``{base}sparql`` (route ``/sparql``), for integrators.

The flow of a request, each step in its own module:

1. :mod:`.protocol` reads the query and dataset from GET, a form POST or a direct POST;
2. :mod:`.safety` refuses SERVICE and updates after a lexical scan (:mod:`.analysis`), and finds the
   query form and whether its answer may be cached;
3. :mod:`.formats` picks the result format from ``format`` or ``Accept`` (406 if none fits);
4. the site's answer cache (:mod:`service.caches`) returns a finished answer to the same
   deterministic query, if it has one; else
5. :mod:`.pool` runs the query in a killable process within the time limit, and
   :mod:`.execute` writes the whole answer there, refusing over-large ones; or, with ``--store``,
   :mod:`.upstream` sends it to that engine and writes its answer with the same code.

Every answer, errors included, carries CORS headers (the app-wide hook of :mod:`service.edge`) so
browser clients (YASGUI, Comunica) can call the endpoint from any page; errors are plain text
saying what to change, raised as :class:`service.edge.Refused`.
"""
from __future__ import annotations

import sys
import time

from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState

from ontology.iris import Iris

from ..edge import Refused
from ..site import Site, current_site
from .budget import memory_ceiling, resident_bytes
from .description import description_triples, render_description
from .execute import Answer, Job
from .formats import GRAPH_FORMATS, SOLUTION_FORMATS, NotAcceptable, choose_format
from .pool import QueryPool, pool_for
from .protocol import ProtocolError, read_query_request
from .pool import UNSEALED
from .safety import inspect_query
from .upstream import Engine, engine_for
from .sandbox import probe

blueprint = Blueprint("sparql", __name__)
SANDBOX = "ckg-sparql-sandbox"
"""``app.extensions`` key: (network namespace, seccomp filter) available to query processes, probed at start-up."""


@blueprint.record_once
def _probe_sandbox(state: BlueprintSetupState) -> None:
    """At app creation (gunicorn's master, before any worker): can query processes be kept off the network?

    If not, SPARQL is disabled, and the operator is told so now rather than by the first client.
    """
    app: Flask = state.app
    netns, seccomp = app.extensions[SANDBOX] = probe()
    if not seccomp:
        print(f"WARNING: {UNSEALED}", file=sys.stderr, flush=True)
    else:
        layers = "seccomp filter" + (" + empty network namespace" if netns else " (no network namespace here)")
        print(f"  SPARQL query processes kept off the network by: {layers}", file=sys.stderr, flush=True)
    site: Site = app.extensions["ckg"]
    print(f"  {memory_ceiling(site.config, resident_bytes()).describe()}", file=sys.stderr, flush=True)


def sparql_enabled(app: Flask) -> bool:
    return app.extensions.get(SANDBOX, (False, False))[1]


def query_pool(site: Site) -> QueryPool | None:
    """This worker process's query processes for ``site`` (forked on first use, or at worker start-up);
    ``None`` with ``--store``: the engine runs the queries, and no process need hold a copy of the store."""
    config = site.config
    if config.store:
        return None
    return pool_for(site.store, config.sparql_slots, config.query_memory * 2**20, config.sparql_queue_wait)


def query_engine(site: Site) -> Engine | None:
    """With ``--store``: this worker's client of the engine that answers queries instead of the embedded store."""
    config = site.config
    if not config.store:
        return None
    graph = site.reading.graph if site.reading and site.reading.graph else config.store_graph or site.base
    return engine_for(config.store, graph, config.sparql_slots, config.sparql_queue_wait)


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    response.headers["Vary"] = "Accept"
    if answer.retry_after is not None:
        response.headers["Retry-After"] = str(answer.retry_after)
    return response


def _refused(status: int, message: str) -> Refused:
    """SPARQL clients show the body to people as it is: the bare message, no status line."""
    return Refused(status, message, {"Vary": "Accept"}, prefixed=False)


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer one SPARQL query, or describe the service when a GET carries no query."""
    arrived = time.monotonic()  # the time limit counts from here: waiting for a slot is part of it
    site = current_site()
    try:
        query_request = read_query_request(request)
    except ProtocolError as error:
        raise _refused(error.status, error.message) from None
    if query_request is None:
        return service_description(site)
    engine = query_engine(site)
    if engine is None and not sparql_enabled(current_app):  # an engine runs queries in its own processes
        raise _refused(503, UNSEALED)
    inspection = inspect_query(query_request.query, site.base)
    if inspection.refusal:
        raise _refused(400, inspection.refusal)
    accept = request.headers.get("Accept")
    try:
        fmt = choose_format(inspection.returns_graph, accept, query_request.format)
    except NotAcceptable as error:
        raise _refused(406, str(error)) from None
    job = Job(query=query_request.query, media_type=fmt.media_type, accept=accept, format_param=query_request.format,
              default_graphs=query_request.default_graphs, named_graphs=query_request.named_graphs,
              max_results=site.config.max_results, base_iri=site.base,
              max_bytes=site.config.max_answer_mib * 2**20)
    answer = site.answers.get(job) if inspection.cacheable else None  # RAND(), NOW(), STRUUID()…: run every time
    hit = answer is not None
    if answer is None:
        pool = query_pool(site)
        if pool is not None:
            answer = pool.run(job, site.config.query_timeout, arrived)
        else:
            answer = engine.run(job, inspection, site.config.query_timeout, arrived)
        if inspection.cacheable:
            site.answers.put(job, answer)
    response = _response(answer)
    response.headers["X-Cache"] = "hit" if hit else "miss"  # lets clients (and tests) see where an answer came from
    return response


def service_description(site: Site) -> Response:
    """The SPARQL Service Description in the RDF format negotiated (Turtle by default)."""
    try:
        fmt = choose_format(True, request.headers.get("Accept"), request.args.get("format"))
    except NotAcceptable as error:
        raise _refused(406, str(error)) from None
    # Described at its canonical IRI only: nothing in an answer comes from the request's Host header, which any
    # client may set (a description naming http://evil.example/sparql could be cached and served to others).
    iris = Iris(site.base)
    triples = description_triples([iris.sparql], iris.dataset, site.descriptions.triple_count(),
                                  list(SOLUTION_FORMATS + GRAPH_FORMATS))
    return _response(Answer(200, fmt.content_type, render_description(triples, fmt)))
