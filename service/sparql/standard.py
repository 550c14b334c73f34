"""Standard SPARQL 1.1 only: what an engine behind the endpoint could be told to do beyond it, found on tokens.

Why: the embedded Oxigraph knows only SPARQL 1.1 (plus a few extensions of its own), but the engines
the service can forward queries to (:mod:`.upstream`) understand much more, and some of it reaches the
network. Virtuoso's ``DEFINE get:soft "soft"`` pragma makes it fetch ("sponge") every ``FROM`` IRI
from the web; its built-in ``bif:`` and ``sql:`` functions include HTTP clients (``bif:http_get``)
and are available without any ``PREFIX``; ``OPTION (…)`` clauses steer its evaluator. Other engines
register extension functions under IRIs of their own. Rather than list every engine's extensions
(a list that is never complete), the endpoint accepts only what SPARQL 1.1 defines:

- every bare word must be a SPARQL 1.1 keyword or built-in function (``DEFINE``, ``OPTION``,
  Oxigraph's ``LATERAL`` or ``ADJUST`` are not);
- every prefixed name must use a prefix the query declares (engines predefine ``bif:``, ``sql:``…;
  SPARQL 1.1 predefines none);
- a function called by IRI must be an XSD constructor (``xsd:integer(?x)``, SPARQL 1.1 §17.5); any
  other IRI is an engine's extension function;
- no IRI in the namespaces Virtuoso reserves for its built-ins (``bif:``, ``sql:``), used as
  "magic" predicates as well as functions.

The checks run in the one linear token pass of :func:`.analysis.analyse` (one :class:`Standard`
fed token by token), in both modes, so the embedded and the engine-backed endpoint refuse the same
queries with the same message. Like the rest of the scan, it errs on the side of refusing.
"""
from __future__ import annotations

from urllib.parse import urljoin

KEYWORDS = frozenset("""
BASE PREFIX SELECT DISTINCT REDUCED AS CONSTRUCT WHERE DESCRIBE ASK FROM NAMED GROUP BY HAVING ORDER ASC
DESC LIMIT OFFSET VALUES OPTIONAL GRAPH SERVICE SILENT BIND UNDEF MINUS UNION FILTER NOT IN EXISTS A TRUE
FALSE COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR STR LANG LANGMATCHES DATATYPE BOUND IRI URI BNODE
RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE
STRAFTER YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 SHA256 SHA384 SHA512
COALESCE IF STRLANG STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL ISNUMERIC REGEX SUBSTR REPLACE
""".split())
"""Every bare word of the SPARQL 1.1 query grammar (§19.8), upper-cased as the tokenizer gives them.
(Update words are refused before this check, with their own message.)"""

XSD = "http://www.w3.org/2001/XMLSchema#"
RESERVED_SCHEMES = ("bif:", "sql:")
"""IRI schemes Virtuoso resolves to its own built-in procedures, as functions and as "magic" predicates."""

_HINTS = {
    "DEFINE": "a Virtuoso pragma; some make the engine fetch IRIs from the web",
    "OPTION": "a Virtuoso evaluation option",
    "LATERAL": "a SPARQL 1.2 draft feature",
}
_CALL_CONTEXT = frozenset({"(", ",", "!", "&&", "||", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/",
                           "FILTER", "BY", "HAVING"})
"""Tokens after which an IRI followed by an argument list is a function call (in a triple pattern the token
before a predicate is a subject or ';', and the parenthesis after it opens a collection)."""


class _Lazy:
    """A token's "line L, column C", computed only if a message needs it (counting lines per token is quadratic)."""

    def __init__(self, where, offset: int) -> None:
        self._where, self._offset = where, offset

    def __str__(self) -> str:
        return self._where(self._offset)

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731 - f-strings call __format__


class Standard:
    """Fed every significant token in order; :attr:`refusal` says what is not SPARQL 1.1, or stays ``None``."""

    def __init__(self, text: str, base_iri: str | None = None) -> None:
        self.refusal: str | None = None
        self.names_dataset = False
        """Whether the query has FROM / FROM NAMED (then it chooses its dataset itself)."""
        self.relative_iris = False
        """Whether an IRI is relative with no BASE before it (resolved against the service's base)."""
        self._text = text
        self._prefixes: dict[str, str] = {}
        self._base = base_iri or ""
        self._declared_base = False
        self._before = ("", "")  # (kind, text) of the two previous tokens, for PREFIX/BASE and calls
        self._previous = ("", "")
        self._callee: tuple[str, str, _Lazy] | None = None
        """An IRI just seen in a call position: a call if an argument list follows."""

    def _where(self, offset: int) -> str:
        line = self._text.count("\n", 0, offset) + 1
        return f"line {line}, column {offset - (self._text.rfind(chr(10), 0, offset) + 1) + 1}"

    def feed(self, kind: str, text: str, offset: int) -> None:
        if self.refusal is not None:
            return
        where = _Lazy(self._where, offset)
        if self._callee is not None:
            iri, written, where = self._callee
            self._callee = None
            if (kind == "nil" or text == "(") and not iri.startswith(XSD):
                self.refusal = (f"{written} at {where} calls a function SPARQL 1.1 does not define (only XSD casts "
                                f"such as xsd:integer(…) are called by IRI): an extension of one engine, which this "
                                f"endpoint does not run.")
                return
        if kind == "word" and text not in KEYWORDS:
            hint = _HINTS.get(text, "an extension of some engine")
            self.refusal = (f"{text} (at {where}) is not part of SPARQL 1.1 ({hint}); this endpoint accepts standard "
                            f"SPARQL 1.1 queries only.")
            return
        if text == "FROM" and kind == "word":
            self.names_dataset = True
        if kind == "pname":
            self._prefixed(text, where)
        elif kind == "iri":
            self._iri(text[1:-1], text, where)
        self._before, self._previous = self._previous, (kind, text)

    def _prefixed(self, text: str, where: _Lazy) -> None:
        prefix, _, local = text.partition(":")
        if self._previous == ("word", "PREFIX"):
            return  # the declaration itself: the IRI that follows is recorded by _iri
        if prefix not in self._prefixes:
            self.refusal = (f"the prefix {prefix}: (in {text} at {where}) is not declared; add PREFIX {prefix}: <…> "
                            f"to the query. (Some engines predefine prefixes, such as Virtuoso's bif: and sql: for "
                            f"its built-in procedures; SPARQL 1.1 has none, and this endpoint accepts none.)")
            return
        self._iri(self._prefixes[prefix] + local, text, where)

    def _iri(self, iri: str, written: str, where: _Lazy) -> None:
        if self._before == ("word", "PREFIX") and self._previous[0] == "pname":
            self._prefixes[self._previous[1].partition(":")[0]] = iri = urljoin(self._base, iri)
        elif self._previous == ("word", "BASE"):
            self.relative_iris = self.relative_iris or (":" not in iri and not self._declared_base)
            self._base = iri = urljoin(self._base, iri)
            self._declared_base = True
        else:
            if ":" not in iri:
                self.relative_iris = self.relative_iris or not self._declared_base
                iri = urljoin(self._base, iri)
            if self._previous[1] in _CALL_CONTEXT:
                self._callee = (iri, written, where)
        if iri.lower().startswith(RESERVED_SCHEMES):
            self.refusal = (f"{written} (at {where}) names one of Virtuoso's built-in procedures ({iri.split(':')[0]}:), "
                            f"which SPARQL 1.1 does not have; this endpoint accepts standard SPARQL 1.1 queries only.")
