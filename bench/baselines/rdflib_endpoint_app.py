"""rdflib-endpoint (PyPI), the usual way to put an rdflib graph behind SPARQL, serving our graph.

Loaded the way its own ``rdflib-endpoint serve`` command does (a Dataset with the default union,
the default in-memory store), but as a module-level ASGI app so uvicorn can run several worker
processes: ``uvicorn bench.baselines.rdflib_endpoint_app:app --workers 2``. Each worker parses the
N-Triples file named by $BENCH_NT itself (uvicorn cannot fork after loading).
"""
from __future__ import annotations

import os

from rdflib import Dataset
from rdflib_endpoint import SparqlEndpoint

graph = Dataset(default_union=True)
graph.parse(os.environ["BENCH_NT"], format="nt")
app = SparqlEndpoint(graph=graph, path="/sparql", title="rdflib-endpoint baseline")
