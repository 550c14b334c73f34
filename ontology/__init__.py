"""The competency model: vocabulary, shapes, and the code that turns the YAML catalogue into a graph.

The flow is one way: ``load_catalogue`` reads and checks the YAML once, ``build_graph`` turns the
checked model into RDF, ``validate_graph`` runs the SHACL shapes over it. Everything downstream
(exports, the service) reads the built graph and never the YAML.
"""
