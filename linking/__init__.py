"""Everything about other frameworks: which ones and their attribution (``frameworks``), ESCO
(``esco``), SSSOM mapping sets (``sssom``; their RDF form, both ways, in ``sssom_rdf``), a
catalogue's mapping folder (``catalogue``), labels fetched over SPARQL (``enrich``) and candidate
mappings (``suggest``). Imports ``ontology`` only."""
