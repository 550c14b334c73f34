"""``{base}mappings`` with ``--store``: the mapping tables written from the engine, as embedded mode writes them.

On a render-cache miss one CONSTRUCT fetches what the mapping writers read (the mapping sets and
records, the nodes under ``{base}mappings/``, the external concepts' names, every ``skos:*Match`` link,
the dataset's own statements for the licence, and the names of the mapped resources for the HTML
links); the statements are grouped as the build groups them (``service.store_downloads.regroup``) and
the very writers of ``service.mappings`` render the answer. The fetched statements are then dropped.
"""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, Response

from ontology.namespaces import OWL, SKOS, SSSOM

from . import mappings
from .edge import answer
from .html import Pages, page_language
from .site import current_site
from .store_catalogue import LINK_TEXTS, StoreCatalogue, _in, _string
from .store_downloads import regroup

blueprint = Blueprint("store_mappings", __name__)
MATCHES = tuple(SKOS + m for m in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch"))


def _source(catalogue: StoreCatalogue) -> SimpleNamespace:
    """What ``service.mappings``' writers read of a site, built from one query."""
    base = catalogue.base
    found = catalogue.engine.construct(f"""
        CONSTRUCT {{ ?s ?p ?o }} WHERE {{
          {{ ?s a ?type ; ?p ?o . FILTER(?type IN (<{OWL}Axiom>, <{SSSOM}MappingSet>)) }}
          UNION {{ ?s ?p ?o . FILTER(isIRI(?s) && (!STRSTARTS(STR(?s), {_string(base)})
                                                  || STRSTARTS(STR(?s), {_string(base + "mappings/")}))) }}
          UNION {{ VALUES ?p {{ {" ".join(f"<{m}>" for m in MATCHES)} }} ?s ?p ?o }}
          UNION {{ VALUES ?s {{ <{base}> }} ?s ?p ?o }}
          UNION {{ ?r <{OWL}annotatedSource> ?s . ?s ?p ?o . FILTER(?p IN ({_in(LINK_TEXTS)})) }}
        }}""")
    graph = regroup(found, base)
    pages = Pages(catalogue.view(found), catalogue.iris.scheme)
    return SimpleNamespace(graph=graph, pages=pages, context_iri=f"{base}context.jsonld")


def _answer(kind: str) -> Response:
    site = current_site()
    lang = page_language() if kind == "html" else ""
    return answer(site.render_cache.get(("mappings", kind, lang),
                                        lambda: mappings._render(_source(site.descriptions), kind, lang)))


@blueprint.route("/mappings", methods=["GET", "HEAD"])
def listing() -> Response:
    chosen = mappings.OFFER.choose()
    return _answer(next(k for k, t in mappings.OFFERED.items() if t == chosen))


@blueprint.route("/mappings<any('.html', '.sssom.tsv', '.tsv', '.jsonld'):suffix>", methods=["GET", "HEAD"])
def twin(suffix: str) -> Response:
    return _answer(mappings.SUFFIXES[suffix])

