"""The SPARQL 1.1 query endpoint as one package: one module per step of a request (see :mod:`.blueprint`)."""
from .blueprint import blueprint, query_pool

__all__ = ["blueprint", "query_pool"]
