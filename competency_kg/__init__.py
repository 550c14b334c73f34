"""competency-kg from Python: the checked catalogue as an rdflib graph, its mappings, and ESCO.

    import competency_kg
    kg = competency_kg.load()                       # the bundled catalogue, checked
    kg.graph.query("SELECT ...")                    # rdflib API, Oxigraph underneath
    kg.mapping_sets[0].mappings                     # the SSSOM rows, with full IRIs
    kg = competency_kg.load(esco="esco.nq")         # ESCO as a named graph beside the catalogue
    esco = competency_kg.load_esco("esco.nq")       # or ESCO on its own

This package is the public API (see the README, *Use it from Python*); ``compile`` is the build
pipeline the command line and the service share.
"""
from linking.esco import ESCO_GRAPH

from .api import KnowledgeGraph, load, load_esco

__all__ = ["ESCO_GRAPH", "KnowledgeGraph", "load", "load_esco"]
