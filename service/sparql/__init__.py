"""The SPARQL 1.1 query endpoint: one module per step of a request (the flow is in :mod:`.blueprint`)."""
