"""The Accept-header rules every part of the service shares (service/negotiation.py)."""
from __future__ import annotations

import pytest

from service.negotiation import choose, parse_accept, quality, ranked

RDF_TYPES = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]


@pytest.mark.parametrize("header", [None, "", "   ", ",,,", "not a media type"])
def test_missing_empty_or_malformed_header_gives_the_server_default(header):
    assert choose(header, RDF_TYPES) == "text/turtle"


def test_exact_type_is_chosen():
    assert choose("application/rdf+xml", RDF_TYPES) == "application/rdf+xml"


def test_type_and_parameters_are_case_insensitive():
    assert choose("Application/LD+JSON; Charset=UTF-8", RDF_TYPES) == "application/ld+json"


def test_highest_q_value_wins():
    header = "text/turtle;q=0.5, application/ld+json;q=0.9, application/n-triples;q=0.7"
    assert choose(header, RDF_TYPES) == "application/ld+json"


def test_ties_are_settled_by_server_order():
    assert choose("application/rdf+xml, application/n-triples", RDF_TYPES) == "application/n-triples"


def test_subtype_wildcard():
    assert choose("application/*", RDF_TYPES) == "application/n-triples"
    assert choose("image/*", RDF_TYPES) is None


def test_full_wildcard_takes_server_default():
    assert choose("*/*", RDF_TYPES) == "text/turtle"
    assert choose("*", RDF_TYPES) == "text/turtle"


def test_most_specific_range_decides_the_quality():
    # text/turtle is refused explicitly although text/* and */* would allow it.
    header = "text/turtle;q=0, text/*;q=0.8, */*;q=0.1"
    assert quality(parse_accept(header), "text/turtle") == 0.0
    assert choose(header, RDF_TYPES) == "application/n-triples"


def test_q_zero_on_everything_else_leaves_only_the_named_type():
    assert choose("*/*;q=0, application/rdf+xml", RDF_TYPES) == "application/rdf+xml"


def test_nothing_acceptable_gives_none():
    assert choose("text/html, application/xhtml+xml", RDF_TYPES) is None


def test_browser_header_prefers_html_when_offered_else_falls_to_wildcard():
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert choose(browser, ["text/html", *RDF_TYPES]) == "text/html"
    assert choose(browser, RDF_TYPES) == "text/turtle"


def test_invalid_q_values_drop_only_that_element():
    assert choose("text/turtle;q=high, application/rdf+xml;q=2, application/ld+json;q=0.2", RDF_TYPES) == \
        "application/ld+json"


def test_charset_parameter_matches_utf8_only():
    assert choose("text/turtle;charset=utf-8", RDF_TYPES) == "text/turtle"
    assert choose("text/turtle;charset=iso-8859-1", RDF_TYPES) is None


def test_other_parameters_must_match_the_offered_type():
    offered = ["application/ld+json", 'application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"']
    header = 'application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"'
    assert choose(header, offered) == offered[1]


def test_quoted_commas_do_not_split_elements():
    ranges = parse_accept('application/ld+json;profile="a,b";q=0.5, text/turtle')
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("application", "ld+json", 0.5), ("text", "turtle", 1.0)]
    assert ranges[0].params == {"profile": "a,b"}


def test_ranked_lists_every_acceptable_type_best_first():
    assert ranked("application/*;q=0.5, text/turtle", RDF_TYPES) == [
        ("text/turtle", 1.0), ("application/n-triples", 0.5), ("application/ld+json", 0.5),
        ("application/rdf+xml", 0.5)]
