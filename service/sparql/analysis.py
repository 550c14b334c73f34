"""Facts about a SPARQL request read from its tokens, in one linear pass, before anything runs.

Why not a real parser: rdflib's takes ~7 ms per query and overflows Python's stack on a 4 KB
query, and every step before the query process must be linear and bounded (a public endpoint
must not let a crafted text cost quadratic time). The facts the service needs — the query form,
whether it is an update, whether it federates with ``SERVICE``, which non-deterministic built-ins
it calls — are all visible in the token stream, so an exact tokenizer of the SPARQL 1.1 terminals
(§19.8) plus a look at neighbouring tokens is enough. The store still parses the query itself;
this pass only has to agree with it about what is a keyword.

Linear by construction: one compiled alternation is matched *at* the current position
(``pattern.match(text, pos)``), every successful match consumes at least one character, and no
alternative has nested quantifiers that could backtrack more than the length of its own match
(possessive quantifiers where a loop meets its terminator). An unterminated string or IRI stops
the scan with an error instead of being retried at every later position, which is where a
regex-over-the-text scan goes quadratic.

``\\uXXXX``/``\\UXXXXXXXX`` escapes are applied first, as SPARQL 1.1 §19.2 prescribes and as
Oxigraph does: ``\\u0053ERVICE`` is ``SERVICE``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

from .standard import Standard

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"})
"""Words that start an update operation; none of them is a keyword of the query language."""
UPDATE_ONLY_KEYWORDS = UPDATE_KEYWORDS - {"ADD", "COPY", "MOVE", "WITH"}
"""Update words that cannot appear anywhere in a query, whatever their position."""

NON_DETERMINISTIC = frozenset({"RAND", "NOW", "UUID", "STRUUID", "BNODE"})
"""Built-ins whose value differs from one evaluation of the same query to the next (SPARQL 1.1 §17.4):
RAND (random), NOW (the time of the evaluation), UUID/STRUUID (fresh identifiers), BNODE (a fresh
blank node, with or without an argument). An answer computed with one of them must not be reused.

Deliberately *not* listed: ``SAMPLE`` and ``GROUP_CONCAT`` (and any result without ORDER BY) may pick
any of several correct answers, but Oxigraph picks the same one every time over the same store, and
serving that same correct answer again is exactly what a repeat could have returned. Blank nodes in a
CONSTRUCT template get new labels per run, but the graphs are isomorphic: the same RDF answer."""

# ---- the terminals of the SPARQL 1.1 grammar (§19.8), as regular-expression fragments ----
_PN_CHARS_BASE = ("A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
                  "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + "\\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
_VARNAME = f"[{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*+"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_PN_LOCAL = (f"(?:[{_PN_CHARS_U}:0-9]|{_PLX})"
             f"(?:(?:[{_PN_CHARS}.:]|{_PLX})*(?:[{_PN_CHARS}:]|{_PLX}))?")
_EXPONENT = r"[eE][+-]?[0-9]++"
_IRI_CHAR = r"[^<>\"{}|^`\\\x00-\x20]"

_TOKEN = re.compile(
    rf"""
      (?P<space>[ \t\r\n]++)
    | (?P<comment>\#[^\r\n]*+)
    | (?P<string>'''(?:[^'\\]|\\[tbnrf"'\\]|'(?!''))*+'''
               |\"\"\"(?:[^"\\]|\\[tbnrf"'\\]|"(?!""))*+\"\"\"
               |'(?:[^'\\\n\r]|\\[tbnrf"'\\])*+'
               |"(?:[^"\\\n\r]|\\[tbnrf"'\\])*+")
    | (?P<iri><{_IRI_CHAR}*+>)
    | (?P<var>[?$]{_VARNAME})
    | (?P<blank>_:[{_PN_CHARS_U}0-9](?:[{_PN_CHARS}.]*[{_PN_CHARS}])?)
    | (?P<pname>:(?:{_PN_LOCAL})?)
    | (?P<langtag>@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+)
    | (?P<number>[0-9]++\.[0-9]*+{_EXPONENT}|\.[0-9]++{_EXPONENT}|[0-9]++{_EXPONENT}
               |[0-9]*+\.[0-9]++|[0-9]++)
    | (?P<word>[A-Za-z][A-Za-z0-9_]*+)
    | (?P<nil>\([ \t\r\n]*+\))
    | (?P<anon>\[[ \t\r\n]*+\])
    | (?P<punct>\^\^|&&|\|\||!=|<=|>=|[{{}}()\[\].,;*+\-/|^!=<>?@$])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# An opening quote or '<' that starts none of the complete forms above is an unterminated string/IRI.
_UNTERMINATED_STRING = re.compile(r"'''|\"\"\"|'|\"")
_UNTERMINATED_IRI = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*+://")
"""A '<' that is not a complete IRI but starts like one (a scheme and ://, which no expression can continue).
Anything else is the less-than operator: ``ORDER BY (?a<?b)`` at the very end of a query is valid."""
_NAME_RUN = re.compile(f"[{_PN_CHARS_BASE}][{_PN_CHARS}.]*+")
"""The longest run that could be a PN_PREFIX; it is one if ':' follows and it does not end with '.'."""
_LOCAL = re.compile(f"(?:{_PN_LOCAL})?")

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class SparqlLexError(ValueError):
    """The text cannot be tokenised as SPARQL (an unterminated string or IRI, a stray character)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Token(NamedTuple):
    """One significant token (a tuple: tokens are made by the thousand, a frozen dataclass costs 3x more)."""

    kind: str
    """One of: string, iri, var, blank, pname, langtag, number, word, nil, anon, punct."""
    text: str
    """As written; for ``word`` upper-cased (SPARQL keywords are case-insensitive)."""
    offset: int
    """Where the token starts in the escape-decoded text."""


@dataclass(frozen=True)
class Analysis:
    """What the service needs to know about a request before it is run."""

    text: str
    """The request after ``\\u`` escapes are applied (offsets refer to this)."""
    form: str | None
    """The first keyword after the prologue: SELECT, ASK, CONSTRUCT, DESCRIBE, an update word, or ``None``."""
    is_update: bool
    service_at: int | None
    """Offset of the first ``SERVICE`` keyword, ``None`` if the query does not federate."""
    update_keyword: str | None
    non_deterministic: tuple[str, ...] = field(default=())
    """The non-deterministic built-ins the query *calls* (a keyword followed by an argument list), in order."""
    tokens_scanned: int = 0
    nonstandard: str | None = None
    names_dataset: bool = False
    """FROM / FROM NAMED in the query."""
    relative_iris: bool = False
    """An IRI relative to no BASE of the query's own."""
    """Why the request is not standard SPARQL 1.1 (see :mod:`.standard`), ``None`` if it is."""
    work: int = 0
    """Token-pattern attempts plus characters read by the prefixed-name scans: the figure that would grow
    faster than the text if a scan restarted at every token (the linearity test counts it)."""

    @property
    def deterministic(self) -> bool:
        """Whether running the query again over the same data must give the same answer."""
        return not self.non_deterministic

    def line_column(self, offset: int) -> str:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return f"line {line}, column {column}"


def decode_escapes(text: str) -> str:
    """Apply SPARQL's ``\\u``/``\\U`` code point escapes (a surrogate or invalid code point is kept as written)."""
    def replace(match: re.Match) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group(0)
        return chr(code)
    return _ESCAPE.sub(replace, text) if "\\" in text else text


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}, column {offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _lex_error(text: str, pos: int) -> SparqlLexError:
    where = _position(text, pos)
    if text[pos] == "<":
        return SparqlLexError(f"the IRI that starts with < at {where} is never closed with >", pos)
    q = _UNTERMINATED_STRING.match(text, pos).group()
    hint = (f"; a string in {q}…{q} cannot span lines (use {q * 3}…{q * 3}, or \\n)"
            if len(q) == 1 and text.find("\n", pos) != -1 else "")
    return SparqlLexError(f"the string that starts with {q} at {where} is never closed, or holds an escape "
                          f"SPARQL does not know (only \\t \\b \\n \\r \\f \\\" \\' \\\\){hint}", pos)


def tokenize(text: str) -> tuple[list[Token], int]:
    """The significant tokens of (escape-decoded) ``text`` and the work that took (see :attr:`Analysis.work`).

    Raises :class:`SparqlLexError` at an unterminated string or IRI. Characters no terminal
    starts with become ``other`` tokens: the store's parser reports those with its own message.

    Prefixed names are found outside the big pattern so that a run such as ``a.a.a.a…`` with no
    ':' after it is scanned once, not once per letter: every position inside a run that was not
    followed by ':' is remembered (``no_prefix_before``) and not tried again.
    """
    work = [0]
    tokens = list(iter_tokens(text, work))
    return tokens, work[0]


def iter_tokens(text: str, work: list[int]) -> Iterator[Token]:
    """The tokens of :func:`tokenize` one by one, adding the work done to ``work[0]``.

    A generator, so :func:`analyse` holds one token at a time: a list of the tokens of a 1 MB query of
    one-character tokens would take ~150 MB per request, memory a client could multiply by sending
    such requests at once.
    """
    pos, end, no_prefix_before = 0, len(text), 0
    match = _TOKEN.match
    while pos < end:
        work[0] += 1
        if pos >= no_prefix_before:
            run = _NAME_RUN.match(text, pos)
            if run is not None:
                colon = run.end()
                work[0] += colon - pos
                if colon < end and text[colon] == ":" and text[colon - 1] != ".":
                    local_end = _LOCAL.match(text, colon + 1).end()
                    yield Token("pname", text[pos:local_end], pos)
                    pos = local_end
                    continue
                no_prefix_before = colon
        m = match(text, pos)
        kind = m.lastgroup
        if kind == "string" and m.end() - pos == 2 and text.startswith(text[pos] * 3, pos):
            raise _lex_error(text, pos)  # an empty '' before a third quote: a long string that never closes
        elif kind == "string" or kind == "iri":
            pass
        elif text[pos] in "'\"":
            raise _lex_error(text, pos)
        elif text[pos] == "<" and _UNTERMINATED_IRI.match(text, pos):
            raise _lex_error(text, pos)
        if kind not in ("space", "comment"):
            value = m.group()
            yield Token(kind, value.upper() if kind == "word" else value, pos)
        pos = m.end()


def analyse(request_text: str, base_iri: str | None = None) -> Analysis:
    """Tokenise a query or update and collect the facts the endpoint decides on. Raises :class:`SparqlLexError`."""
    text = decode_escapes(request_text)
    work = [0]
    form = None
    service_at = None
    update_keyword = None
    calls: list[str] = []
    count = 0
    standard = Standard(text, base_iri)
    pending: str | None = None
    """A non-deterministic built-in's name just seen: it is called if the next token opens an argument list."""
    for token in iter_tokens(text, work):
        count += 1
        standard.feed(token.kind, token.text, token.offset)
        if pending is not None:
            if (token.kind == "nil" or token.text == "(") and pending not in calls:
                calls.append(pending)
            pending = None
        if token.kind != "word":
            continue
        word = token.text
        if form is None and word not in ("BASE", "PREFIX"):
            form = word
        if word == "SERVICE" and service_at is None:
            service_at = token.offset
        if update_keyword is None and word in UPDATE_ONLY_KEYWORDS:
            update_keyword = word
        if word in NON_DETERMINISTIC:
            pending = word
    if form in UPDATE_KEYWORDS:
        update_keyword = form
    return Analysis(text=text, form=form, is_update=update_keyword is not None, service_at=service_at,
                    update_keyword=update_keyword, non_deterministic=tuple(calls),
                    tokens_scanned=count, work=work[0], nonstandard=standard.refusal,
                    names_dataset=standard.names_dataset, relative_iris=standard.relative_iris)
