"""Namespaces used by the catalogue graph, with the prefixes every serialization declares."""
from __future__ import annotations

from .iris import VOCAB

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
FOAF = "http://xmlns.com/foaf/0.1/"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SCHEMA = "https://schema.org/"
SH = "http://www.w3.org/ns/shacl#"
SSSOM = "https://w3id.org/sssom/"
SEMAPV = "https://w3id.org/semapv/vocab/"
PAV = "http://purl.org/pav/"
PROV = "http://www.w3.org/ns/prov#"
CKG = VOCAB

PREFIXES: dict[str, str] = {
    "ckg": CKG, "dcat": DCAT, "dct": DCT, "foaf": FOAF, "owl": OWL, "rdf": RDF, "rdfs": RDFS,
    "pav": PAV, "prov": PROV, "schema": SCHEMA, "semapv": SEMAPV, "skos": SKOS, "sssom": SSSOM, "vcard": VCARD, "void": VOID, "xsd": XSD,
}


def compact(iri: str, prefixes: dict[str, str]) -> str:
    """The CURIE for ``iri`` under the longest matching namespace, or the IRI itself.

    The one compactor of the project (SSSOM cells, problem messages, HTML pages, JSON-LD class
    names): the longest namespace wins, so ``kg:competency/x`` is never written as ``base:competency/x``
    when both namespaces are declared, and a bare namespace IRI stays an IRI.
    """
    best = max(((name, ns) for name, ns in prefixes.items() if iri.startswith(ns) and len(iri) > len(ns)),
               key=lambda item: len(item[1]), default=None)
    return f"{best[0]}:{iri[len(best[1]):]}" if best else iri
