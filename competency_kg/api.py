"""The public Python API: the checked catalogue as an rdflib graph, its mapping sets, and ESCO.

Researchers work in notebooks with rdflib, so that is what they get, backed by Oxigraph through
oxrdflib: the same ``Graph`` API, with SPARQL about ten times faster than rdflib's own engine on
scans and joins. Everything else in the repository is internal and may move.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import rdflib
from pyoxigraph import Store
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from catalog import CATALOG_DIR
from linking.esco import ESCO_GRAPH, load_esco as _load_esco_into
from linking.sssom import MappingSet
from ontology.model import Catalogue
from ontology.namespaces import PREFIXES

from .compile import compile_catalogue

EscoSource = Path | str | Iterable[Path | str]
"""An ESCO import made by ``ckg esco import`` (.nq/.trig), ESCO's own downloads, or several of them."""


@dataclass(frozen=True)
class KnowledgeGraph:
    """A checked catalogue, ready to query."""

    catalogue: Catalogue
    """The catalogue as Python objects: competencies in slug order, levels in rank order, criteria in position order."""
    graph: rdflib.Graph
    """The catalogue's RDF graph (read-only by convention: it is what the exports and the service publish)."""
    mapping_sets: list[MappingSet]
    """The SSSOM mapping sets of ``catalog/mappings/``, checked, with full IRIs."""
    esco: rdflib.Graph | None = None
    """ESCO's named graph, when ``load(esco=…)`` was given; it shares the store with ``graph``."""

    @property
    def base(self) -> str:
        """The base IRI every IRI of the catalogue starts with."""
        return self.catalogue.base


def load(catalog_dir: Path | str | None = None, *, base: str | None = None,
         esco: EscoSource | None = None) -> KnowledgeGraph:
    """Load, check and build a catalogue (default: the bundled one) and return it ready to query.

    ``base`` publishes the catalogue under another base IRI. With ``esco``, ESCO is loaded into
    the same store as its own named graph (``<https://w3id.org/competency-kg/graph/esco>``), so
    one SPARQL query on ``graph`` joins both with ``GRAPH <…/graph/esco> { … }``, as on the
    service's endpoint. Raises ``ontology.problems.CatalogueError`` listing every problem of a
    catalogue that does not pass its checks.
    """
    compiled = compile_catalogue(catalog_dir if catalog_dir is not None else CATALOG_DIR, base=base)
    store = compiled.graph.store()
    if esco is not None:
        _load_esco_into(store, _paths(esco))
    return KnowledgeGraph(compiled.catalogue, _view(store), compiled.mapping_sets,
                          _view(store, ESCO_GRAPH) if esco is not None else None)


def load_esco(esco: EscoSource) -> rdflib.Graph:
    """ESCO on its own, as an rdflib graph: an import made by ``ckg esco import``, or ESCO's downloads.

    Raises ``linking.esco.EscoImportError`` when the input is not ESCO.
    """
    store = Store()
    _load_esco_into(store, _paths(esco))
    return _view(store, ESCO_GRAPH)


def _paths(esco: EscoSource) -> list[Path | str]:
    return [esco] if isinstance(esco, (str, Path)) else list(esco)


def _view(store: Store, graph_name: str | None = None) -> rdflib.Graph:
    """One graph of ``store`` behind rdflib's API, with the project's prefixes bound."""
    from oxrdflib import OxigraphStore  # pulls in rdflib's SPARQL engine (~0.3 s): only for Python users, not the CLI

    identifier = rdflib.URIRef(graph_name) if graph_name else DATASET_DEFAULT_GRAPH_ID
    graph = rdflib.Graph(store=OxigraphStore(store=store), identifier=identifier)
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph
