"""What a SPARQL request asks for, decided from its tokens before anything is executed.

The endpoint is public and read-only, so two things are refused before a query reaches the store:

- ``SERVICE``: Oxigraph *does* evaluate federated queries, by opening an HTTP connection to
  whatever IRI the query names. A query must never make this server connect anywhere.
- updates (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``…): the query endpoint only answers queries.
  (The store would reject them as syntax errors anyway; the scan gives a clear message.)

A regular expression over the raw text would be fooled by ``"SERVICE"`` in a string, an IRI such
as ``<http://x/SERVICE>``, a variable ``?service``, a prefixed name ``ex:SERVICE``, a comment or a
number (``1.SERVICE`` is the integer 1, a dot, then SERVICE), and it may take quadratic time on
crafted text. So the decision is made on the tokens of :mod:`.analysis`, an exact, linear
tokenizer of the SPARQL grammar: only bare keywords count. The same pass tells whether the answer
may be cached (no non-deterministic built-in is called). The scan errs on the side of refusing; it
never executes anything.
"""
from __future__ import annotations

from dataclasses import dataclass

from .analysis import QUERY_FORMS, SparqlLexError, analyse, decode_escapes, tokenize

GRAPH_FORMS = frozenset({"CONSTRUCT", "DESCRIBE"})


@dataclass(frozen=True)
class Word:
    """A bare word of the query (a keyword or function name), upper-cased, with where it starts."""

    text: str
    offset: int


@dataclass(frozen=True)
class Inspection:
    """The outcome of the scan: the query form, why the request must be refused, and whether its answer may be kept."""

    form: str | None
    """SELECT, ASK, CONSTRUCT or DESCRIBE; ``None`` if the text does not start like a query."""
    refusal: str | None = None
    non_deterministic: tuple[str, ...] = ()
    """Built-ins such as RAND() or STRUUID() the query calls: its answer differs per run, so it is never cached."""
    names_dataset: bool = False
    """FROM / FROM NAMED in the query: an engine is then not told which graphs to read (see :mod:`.upstream`)."""
    relative_iris: bool = False
    """Relative IRIs and no BASE: an engine must be given the service's base (the store is given it directly)."""

    @property
    def returns_graph(self) -> bool:
        return self.form in GRAPH_FORMS

    @property
    def cacheable(self) -> bool:
        return self.refusal is None and not self.non_deterministic


def bare_words(query: str) -> list[Word]:
    """Every bare word outside comments, strings, IRIs, variables, prefixed names and language tags."""
    tokens, _ = tokenize(decode_escapes(query))
    return [Word(t.text, t.offset) for t in tokens if t.kind == "word"]


def inspect_query(query: str, base_iri: str | None = None) -> Inspection:
    """Classify ``query`` and say why it must be refused (SERVICE, an update, a broken token), without executing it."""
    try:
        facts = analyse(query, base_iri)
    except SparqlLexError as error:
        return Inspection(None, f"the query is not valid SPARQL 1.1: {error}")
    if facts.service_at is not None:
        return Inspection(facts.form, f"SERVICE (federated query) is not allowed on this endpoint: it would make the "
                                      f"server connect to another site ({facts.line_column(facts.service_at)}). "
                                      f"Query the other endpoint yourself and combine the results on your side.")
    if facts.is_update:
        return Inspection(None, f"this is a read-only SPARQL query endpoint: SPARQL Update ({facts.update_keyword}) "
                                f"is not accepted and nothing was changed. Send a SELECT, ASK, CONSTRUCT or DESCRIBE "
                                f"query.")
    if facts.nonstandard:
        return Inspection(facts.form if facts.form in QUERY_FORMS else None, facts.nonstandard)
    return Inspection(facts.form if facts.form in QUERY_FORMS else None, non_deterministic=facts.non_deterministic,
                      names_dataset=facts.names_dataset, relative_iris=facts.relative_iris)
