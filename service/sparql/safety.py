"""What a SPARQL request asks for, found by a lexical scan before anything is executed.

The endpoint is public and read-only, so two things are refused before a query reaches the store:

- ``SERVICE``: Oxigraph *does* evaluate federated queries, by opening an HTTP connection to
  whatever IRI the query names. A query must never make this server connect anywhere.
- updates (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``…): the query endpoint only answers queries.
  (The store would reject them as syntax errors anyway; the scan gives a clear message.)

A regular expression over the raw text would be fooled by ``"SERVICE"`` in a string, an IRI such
as ``<http://x/SERVICE>``, a variable ``?service``, a prefixed name ``ex:SERVICE`` or a comment,
and would also miss ``service`` in lower case. So the scan tokenises the query the way the SPARQL
grammar does (comments, the four string forms, IRI references, variables, prefixed names,
language tags) and looks only at the bare words that remain: in a SPARQL query those can only be
keywords, built-in function names, ``a``, ``true`` and ``false``.

``\\uXXXX`` escapes are decoded first, as SPARQL 1.1 §19.2 says they are processed before parsing:
``\\u0053ERVICE`` is ``SERVICE``. The scan errs on the side of refusing; it never executes anything.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
GRAPH_FORMS = frozenset({"CONSTRUCT", "DESCRIBE"})
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
"""Words that start an update operation; none of them is a keyword of the query language."""

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")

_TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
               |\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'
               |"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<variable>[?$][^\W]\w*)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<pname>(?:[^\W\d][\w.\-\u00B7]*)?:(?:[\w.\-:%\u00B7]|\\.)*)
    | (?P<word>[^\W\d]\w*)
    | (?P<number>\d[\w.]*)
    | (?P<space>\s+)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Word:
    """A bare word of the query (a keyword or function name), upper-cased, with where it starts."""

    text: str
    offset: int


@dataclass(frozen=True)
class Inspection:
    """The outcome of the scan: the query form, and why the request must be refused, if it must."""

    form: str | None
    """SELECT, ASK, CONSTRUCT or DESCRIBE; ``None`` if the text does not start like a query."""
    refusal: str | None = None

    @property
    def returns_graph(self) -> bool:
        return self.form in GRAPH_FORMS


def decode_escapes(text: str) -> str:
    """Apply SPARQL's ``\\u``/``\\U`` code point escapes (a surrogate or invalid code point is kept as written)."""
    def replace(match: re.Match) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group(0)
        return chr(code)
    return _ESCAPE.sub(replace, text) if "\\" in text else text


def bare_words(query: str) -> list[Word]:
    """Every bare word outside comments, strings, IRIs, variables, prefixed names and language tags."""
    return [Word(m.group().upper(), m.start()) for m in _TOKEN.finditer(decode_escapes(query))
            if m.lastgroup == "word"]


def _line_column(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def inspect_query(query: str) -> Inspection:
    """Classify ``query`` and say why it must be refused (SERVICE, an update), without executing it."""
    words = bare_words(query)
    decoded = decode_escapes(query)
    form = next((w.text for w in words if w.text not in ("BASE", "PREFIX")), None)
    for word in words:
        if word.text == "SERVICE":
            return Inspection(form, f"SERVICE (federated query) is not allowed on this endpoint: it would make the "
                                    f"server connect to another site ({_line_column(decoded, word.offset)}). "
                                    f"Query the other endpoint yourself and combine the results on your side.")
    if form in UPDATE_KEYWORDS or any(w.text in UPDATE_KEYWORDS - {"ADD", "COPY", "MOVE", "WITH"} for w in words):
        keyword = form if form in UPDATE_KEYWORDS else next(w.text for w in words if w.text in UPDATE_KEYWORDS)
        return Inspection(None, f"this is a read-only SPARQL query endpoint: SPARQL Update ({keyword}) is not "
                                f"accepted and nothing was changed. Send a SELECT, ASK, CONSTRUCT or DESCRIBE query.")
    return Inspection(form if form in QUERY_FORMS else None)
