"""The SPARQL 1.1 query endpoint: one module per step of a request (the flow is in :mod:`.blueprint`).

The package itself imports nothing, so the state object can use the answer cache without pulling in
the blueprint (which reads that state).
"""
