"""The engine client's own encoding of a query (``service.engine``): what the engine receives must be exactly
what the standard library's form encoding gives, for every character a query can hold."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pytest

from service.engine import form_encode

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o }",
    'SELECT * WHERE { ?s <https://w3id.org/competency-kg/def#statement> "Zorgt voor één + één & 100% = twee"@nl }',
    "ASK { <urn:x> ?p \"tab\there\nnewline ~ _ . - * ' ( ) ! ∑ 😀\" }",
    "".join(chr(c) for c in range(1, 512)),
    "",
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_is_form_encoded_byte_for_byte_as_urlencode(query: str) -> None:
    fields = {"query": query, "default-graph-uri": "urn:uuid:9f1c-aa#g/ x"}
    assert form_encode(fields) == urlencode(fields).encode("ascii")
    assert parse_qs(form_encode(fields).decode("ascii"), keep_blank_values=True) == {name: [value] for name, value in fields.items()}
