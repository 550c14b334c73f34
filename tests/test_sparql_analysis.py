"""The linear SPARQL tokenizer: terminals as the grammar defines them, the facts drawn from them, linearity."""
from __future__ import annotations

import pytest
from pyoxigraph import Store

from service.sparql.analysis import SparqlLexError, analyse, tokenize


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text)[0]]


@pytest.mark.parametrize("text, expected", [
    ("1.SERVICE", [("number", "1"), ("punct", "."), ("word", "SERVICE")]),
    ("1.5e3 .5 1.e2 12 3.", [("number", "1.5e3"), ("number", ".5"), ("number", "1.e2"), ("number", "12"),
                             ("number", "3"), ("punct", ".")]),
    ("ex:a.b. _:x.y.", [("pname", "ex:a.b"), ("punct", "."), ("blank", "_:x.y"), ("punct", ".")]),
    ("ex:RAND() :x a.b:c", [("pname", "ex:RAND"), ("nil", "()"), ("pname", ":x"), ("pname", "a.b:c")]),
    (r"ex:a\,b\.c%20d", [("pname", r"ex:a\,b\.c%20d")]),
    ("?rand $now ?1x", [("var", "?rand"), ("var", "$now"), ("var", "?1x")]),
    ("'a''b' \"c\\\"d\" '''e'f''g''' \"\"\"h\n\"i\"\"\"", [("string", "'a'"), ("string", "'b'"),
                                                           ("string", '"c\\"d"'), ("string", "'''e'f''g'''"),
                                                           ("string", '"""h\n"i"""')]),
    ("'x'@en-GB^^<t>", [("string", "'x'"), ("langtag", "@en-GB"), ("punct", "^^"), ("iri", "<t>")]),
    ("( ) [ ] ( x", [("nil", "( )"), ("anon", "[ ]"), ("punct", "("), ("word", "X")]),
    ("?a<?b && ?c>=?d || !?e", [("var", "?a"), ("punct", "<"), ("var", "?b"), ("punct", "&&"), ("var", "?c"),
                                ("punct", ">="), ("var", "?d"), ("punct", "||"), ("punct", "!"), ("var", "?e")]),
    ("a # RAND()\n b", [("word", "A"), ("word", "B")]),
])
def test_terminals_are_split_as_the_grammar_says(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize("query, called", [
    ("SELECT (STRUUID() AS ?u) {}", ("STRUUID",)),
    ("select (uuid() as ?u) (now() as ?t) {}", ("UUID", "NOW")),
    ("SELECT * { ?s ?p ?o } ORDER BY RAND ( )", ("RAND",)),
    ("SELECT (RAND # why not\n () AS ?r) {}", ("RAND",)),
    ("SELECT (BNODE() AS ?b) (BNODE('x') AS ?c) {}", ("BNODE",)),
    ("SELECT (\\u0052AND() AS ?r) {}", ("RAND",)),
    # look-alikes: strings, IRIs, comments, variables, prefixed names, a keyword not called
    ("PREFIX ex: <http://x/> SELECT ?rand ?now { ?rand ex:RAND 'NOW()' ; <http://x/UUID()> \"\"\"STRUUID()\"\"\" }"
     " # BNODE()", ()),
    ("SELECT (SAMPLE(?o) AS ?x) (GROUP_CONCAT(?o) AS ?y) { ?s ?p ?o } GROUP BY ?s", ()),
])
def test_non_deterministic_calls_are_found_only_where_they_are_calls(query, called):
    assert analyse(query).non_deterministic == called
    assert analyse(query).deterministic is (not called)


@pytest.mark.parametrize("query, form, update, service", [
    ("PREFIX a: <http://a/> BASE <http://b/> ASK {}", "ASK", False, False),
    ("SELECT * { ?s ?p 1.SERVICE <http://127.0.0.1:9/> {} }", "SELECT", False, True),
    ("SELECT * { ?s ?p 'SERVICE' . ?s <http://x/SERVICE> ?service ; ex:SERVICE 1 }", "SELECT", False, False),
    ("SELECT * {} ; INSERT DATA { <a> <b> <c> }", "SELECT", True, False),
    ("WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "WITH", True, False),
])
def test_form_update_and_service_come_from_keywords(query, form, update, service):
    facts = analyse(query)
    assert (facts.form, facts.is_update, facts.service_at is not None) == (form, update, service)


@pytest.mark.parametrize("query, message", [
    ("SELECT * { ?s ?p 'open }", "string that starts with ' at line 1, column 18 is never closed"),
    ('SELECT * {\n ?s ?p """open }', 'string that starts with """ at line 2, column 8 is never closed'),
    ("SELECT * { ?s ?p 'two\nlines' }", "cannot span lines"),
    ("SELECT * { ?s ?p <http://x/open ?o }", "IRI that starts with < at line 1, column 18 is never closed"),
    ("SELECT * { ?s ?p <https://x/open", "IRI that starts with < at line 1, column 18"),
])
def test_an_unterminated_string_or_iri_is_a_clear_error(query, message):
    with pytest.raises(SparqlLexError, match=message.replace("?", r"\?").replace("*", r"\*")):
        analyse(query)


@pytest.mark.parametrize("query", [
    "SELECT ?x WHERE { ?x <http://x/p> 'a'@en, 1.5, -2, true, \"\"\"b\"\"\"^^<http://x/t> } ORDER BY DESC(?x) LIMIT 3",
    "PREFIX : <http://x/> SELECT (COUNT(*) AS ?n) { ?s :p+/:q* ?o . FILTER(?o >= 1 && ?o != 2) } GROUP BY ?s",
    "CONSTRUCT { ?s a [] } WHERE { ?s ?p () OPTIONAL { ?s ?q _:b } VALUES ?s { UNDEF } }",
    "SELECT * { ?s ?p ?o FILTER(?o < 3 || ?o > ?s) FILTER(REGEX(STR(?o), '^a\\\\.b$', 'i')) }",
    "SELECT * { ?a ?b ?c FILTER(?a<?c) } ORDER BY (?a<?b)",  # '<' right before the end is not an open IRI
])
def test_queries_the_store_accepts_tokenise_without_error(query):
    Store().query(query)  # the store's parser agrees they are valid
    assert analyse(query).form in {"SELECT", "CONSTRUCT"}


ADVERSARIAL_UNITS = [
    "a.",            # letters and dots with no ':' ever: a prefixed-name scan must not restart at each letter
    "?a< ",          # a '<' that is never an IRI
    "( ",            # an argument list that never closes
    "1.",            # numbers that never get an exponent
    "ex:a\\, ",      # local-name escapes
    "'x' ",          # many complete strings
    "\\u0041",      # escapes, decoded before the scan
    "\\u00 ",       # escapes that never complete
]


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_work_grows_linearly_with_the_text(unit):
    """An operation count, not a clock: the work per character stays the same whether the text is 1 KB
    or 64 KB (a rescan per token would make the larger text cost 64x more per character). Wall-clock
    figures for the same inputs: bench/sparql_analysis_scaling.py."""
    small, large = unit * (1_000 // len(unit)), unit * (64_000 // len(unit))
    per_char = [analyse(text).work / len(text) for text in (small, large)]
    assert all(p <= 3.0 for p in per_char)
    assert per_char[1] == pytest.approx(per_char[0], rel=0.01)


def test_a_long_query_does_not_exhaust_the_stack():
    """rdflib's recursive parser fails on a few KB of nested groups; a token loop has no depth."""
    query = "SELECT * WHERE " + "{ " * 20_000 + "?s ?p ?o" + " }" * 20_000
    assert analyse(query).form == "SELECT"


def test_the_scan_holds_memory_proportional_to_the_text_not_to_its_tokens():
    """A 900 KB query of one-character tokens: a list of its tokens would take ~150 bytes per character, per
    request. The scan's peak (tracemalloc) stays within a few times the text itself."""
    import tracemalloc
    query = "ASK { " + "( " * 450_000 + "}"
    tracemalloc.start()
    try:
        analyse(query)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 4 * len(query), f"the scan of {len(query):,} characters peaked at {peak:,} bytes"
