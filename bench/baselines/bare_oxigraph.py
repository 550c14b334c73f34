"""The in-process limit for a SPARQL SELECT: Flask hands the query to pyoxigraph and returns its JSON.

No protocol checks, no negotiation, no time limit, no result bound, no worker process: this is what
our endpoint would cost if it did nothing but run the query, so "ours / this" is the price of the
safety and protocol work. The N-Triples file comes from $BENCH_NT and is loaded once, before
gunicorn forks (run it with --preload), so every worker shares the store.
"""
from __future__ import annotations

import os

from flask import Flask, Response, request
from pyoxigraph import QueryResultsFormat, RdfFormat, Store

SPARQL_JSON = "application/sparql-results+json"


def load_store(path: str) -> Store:
    """An in-memory store holding the N-Triples file at ``path`` in its default graph."""
    store = Store()
    with open(path, "rb") as handle:
        store.bulk_load(handle, format=RdfFormat.N_TRIPLES)
    return store


store = load_store(os.environ["BENCH_NT"])
app = Flask(__name__)


@app.get("/sparql")
def sparql() -> Response:
    """Run ``?query=`` and answer in SPARQL JSON; a bad query is the client's error (400)."""
    query = request.args.get("query")
    if not query:
        return Response("missing ?query=\n", status=400, content_type="text/plain")
    try:
        results = store.query(query)
    except SyntaxError as error:
        return Response(f"{error}\n", status=400, content_type="text/plain")
    return Response(results.serialize(format=QueryResultsFormat.JSON), content_type=SPARQL_JSON)
