"""The SPARQL 1.1 query endpoint at ``{base}sparql`` (route ``/sparql``), for integrators.

The flow of a request, each step in its own module:

1. :mod:`.sparql_protocol` reads the query and dataset from GET, a form POST or a direct POST;
2. :mod:`.sparql_safety` refuses SERVICE and updates after a lexical scan (:mod:`.sparql_analysis`), and finds
   the query form and whether its answer may be cached;
3. :mod:`.sparql_formats` picks the result format from ``format`` or ``Accept`` (406 if none fits);
4. :mod:`.sparql_cache` returns a finished answer to the same deterministic query if it has one; else
5. :mod:`.sparql_pool` runs the query in a killable process within the time limit, and
   :mod:`.sparql_execute` writes the whole answer there, refusing over-large ones.

Every answer, errors included, carries CORS headers so browser clients (YASGUI, Comunica) can call
the endpoint from any page; errors are plain text saying what to change.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from .sparql_cache import AnswerCache
from .sparql_description import description_triples, render_description
from .sparql_execute import Answer, Job
from .sparql_formats import GRAPH_FORMATS, SOLUTION_FORMATS, NotAcceptable, choose_format
from .sparql_pool import QueryPool, pool_for
from .sparql_protocol import ProtocolError, read_query_request
from .sparql_safety import inspect_query
from .site import Site, current_site

blueprint = Blueprint("sparql", __name__)

ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"


def query_pool(site: Site) -> QueryPool:
    """This worker process's query processes for ``site`` (forked on first use, or at worker start-up)."""
    return pool_for(site.store, site.config.threads, site.config.query_memory * 2**20)


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, content_type=answer.content_type)
    response.headers["Vary"] = "Accept"
    return response


def _error(status: int, message: str) -> Response:
    return _response(Answer.error(status, message))


@blueprint.after_request
def _cors(response: Response) -> Response:
    """Any web page may query this public, read-only endpoint."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Content-Type, Content-Length, Vary"
    return response


@blueprint.route("/sparql", methods=["OPTIONS"], provide_automatic_options=False)
def preflight() -> Response:
    """CORS preflight: allow the methods and whichever request headers the browser asks about."""
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, so no type
    response.headers["Allow"] = ALLOWED_METHODS
    response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    asked = request.headers.get("Access-Control-Request-Headers")
    response.headers["Access-Control-Allow-Headers"] = asked or "Accept, Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@blueprint.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer one SPARQL query, or describe the service when a GET carries no query."""
    site = current_site()
    try:
        query_request = read_query_request(request)
    except ProtocolError as error:
        return _error(error.status, error.message)
    if query_request is None:
        return service_description(site)
    inspection = inspect_query(query_request.query)
    if inspection.refusal:
        return _error(400, inspection.refusal)
    accept = request.headers.get("Accept")
    try:
        fmt = choose_format(inspection.returns_graph, accept, query_request.format)
    except NotAcceptable as error:
        return _error(406, str(error))
    job = Job(query=query_request.query, media_type=fmt.media_type, accept=accept, format_param=query_request.format,
              default_graphs=query_request.default_graphs, named_graphs=query_request.named_graphs,
              max_results=site.config.max_results, base_iri=site.base)
    cache = answer_cache(site)
    answer = cache.get(job) if inspection.cacheable else None  # RAND(), NOW(), STRUUID()…: run every time
    hit = answer is not None
    if answer is None:
        answer = query_pool(site).run(job, site.config.query_timeout)
        if inspection.cacheable:
            cache.put(job, answer)
    response = _response(answer)
    response.headers["X-Cache"] = "hit" if hit else "miss"  # lets clients (and tests) see where an answer came from
    return response


def answer_cache(site: Site) -> AnswerCache:
    """This site's cache of finished answers (one per worker process, dropped with the site)."""
    cache = site.cache.get("sparql-answers")
    if cache is None:
        cache = site.cache.setdefault("sparql-answers", AnswerCache(site.config.answer_cache_mib * 2**20))
    return cache


def service_description(site: Site) -> Response:
    """The SPARQL Service Description in the RDF format negotiated (Turtle by default)."""
    try:
        fmt = choose_format(True, request.headers.get("Accept"), request.args.get("format"))
    except NotAcceptable as error:
        return _error(406, str(error))
    # Described at the URL the client used (a local or proxied server) and at its canonical IRI.
    endpoints = [request.base_url, site.graph.iris.sparql]
    triples = description_triples(endpoints, site.graph.iris.dataset, len(site.graph),
                                  list(SOLUTION_FORMATS + GRAPH_FORMATS))
    return _response(Answer(200, fmt.content_type, render_description(triples, fmt)))
