"""Links from the catalogue to other frameworks: enrichment from SPARQL endpoints and mapping suggestions."""
