"""Standard SPARQL 1.1 only (service/sparql/standard.py): engines' extensions are refused on tokens, nothing else."""
from __future__ import annotations

import pytest

from service.sparql.safety import inspect_query

XSD = "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
EX = "PREFIX ex: <http://example.org/>\n"


@pytest.mark.parametrize("query, says", [
    ('define get:soft "soft" SELECT * FROM <http://x.example/> { ?s ?p ?o }', "DEFINE"),
    ('\\u0044EFINE get:soft "soft" SELECT * { ?s ?p ?o }', "DEFINE"),  # escapes are decoded first, as engines do
    ('SELECT * { ?s ?p ?o } OPTION (QUIETCAST)', "OPTION"),
    ('SELECT * { ?s ?p ?o } LATERAL { }', "LATERAL"),
    ('SELECT (bif:http_get("http://x.example/") AS ?x) {}', "prefix bif: "),
    ('SELECT * { ?s sql:anything ?o }', "prefix sql: "),
    ('PREFIX b: <bif:> SELECT * { ?s b:contains "word" }', "built-in procedures"),
    ('SELECT * { ?s ?p ?o FILTER(<SQL:foo>(?o)) }', "built-in procedures"),
    (EX + 'SELECT * { ?s ?p ?o FILTER(ex:f(?o)) }', "does not define"),
    (EX + 'SELECT * { ?s ?p ?o FILTER ex:f(?o) }', "does not define"),
    (EX + 'SELECT (ex:f() AS ?x) {}', "does not define"),
    (EX + 'SELECT * { ?s ?p ?o } ORDER BY ex:f(?o)', "does not define"),
    (EX + 'SELECT * { ?s ?p ?o FILTER(?o = ex:f(1)) }', "does not define"),
    ('SELECT (<http://www.openlinksw.com/schemas/bif#http_get>("x") AS ?y) {}', "does not define"),
    ('BASE <http://www.w3.org/2001/XMLSchema#> SELECT (<integer>("1") AS ?x) {}', "does not define"),
])
def test_extensions_are_refused_saying_why(query, says):
    refusal = inspect_query(query).refusal
    assert refusal is not None and says in refusal


@pytest.mark.parametrize("query", [
    "SELECT * { ?s a ?o } LIMIT 1",
    'SELECT * { ?s ?p "DEFINE get:soft bif:http_get(1) OPTION" } # DEFINE OPTION bif:x(1)',
    "SELECT * { <http://x.example/define> ?p ?o }",
    EX + "SELECT * { ?s ex:p (1 2 ex:q) ; ex:r () }",  # collections after a predicate are no calls
    EX + "SELECT * { ?s ex:p ?o FILTER(?o IN (ex:a, ex:b)) FILTER(!BOUND(?x)) }",
    XSD + 'SELECT (xsd:integer("1") AS ?x) (xsd:date("2024-01-01") AS ?d) {} ORDER BY xsd:string(?x)',
    "PREFIX : <http://e.example/> ASK { :a :b :c }",
    "SELECT ?p WHERE { <relative> ?p ?o }",
    'SELECT (GROUP_CONCAT(?o; SEPARATOR=",") AS ?all) (SAMPLE(?o) AS ?one) { ?s ?p ?o } GROUP BY ?s HAVING (COUNT(?o) > 1)',
    'SELECT (STRLANG("x", "nl") AS ?a) (ENCODE_FOR_URI("a b") AS ?b) (SHA256("x") AS ?c) (isNumeric(1) AS ?d) {}',
    "SELECT * FROM <http://a.example/> FROM NAMED <http://b.example/> { GRAPH ?g { ?s ?p ?o } MINUS { ?s ?q ?r } }",
    "CONSTRUCT WHERE { ?s ?p ?o }", "DESCRIBE <http://x.example/>",
])
def test_standard_queries_pass(query):
    assert inspect_query(query).refusal is None


def test_dataset_and_relative_iris_are_noticed():
    assert inspect_query("SELECT * FROM <http://a.example/> { ?s ?p ?o }").names_dataset
    assert not inspect_query("SELECT * { ?s ?p ?o }").names_dataset
    assert inspect_query("SELECT * { <a> ?p ?o }").relative_iris
    assert not inspect_query("BASE <http://e.example/> SELECT * { <a> ?p ?o }").relative_iris
