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
CKG = VOCAB

PREFIXES: dict[str, str] = {
    "ckg": CKG, "dcat": DCAT, "dct": DCT, "foaf": FOAF, "owl": OWL, "rdf": RDF, "rdfs": RDFS,
    "pav": PAV, "schema": SCHEMA, "semapv": SEMAPV, "skos": SKOS, "sssom": SSSOM, "vcard": VCARD, "void": VOID, "xsd": XSD,
}
