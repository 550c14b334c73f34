"""A small SPARQL 1.1 Protocol client for reading the catalogue out of an engine (``ckg serve --store``),
and the one way to the engine for our SPARQL endpoint too (``service.sparql.upstream`` forwards its
clients' queries through :meth:`Engine.exchange`, with their deadline and a byte bound).

Only the standard protocol is used (a form-encoded POST of ``query``, answers as N-Triples or SPARQL
JSON results), so Oxigraph server, Virtuoso, Fuseki, GraphDB and Neptune are read the same way. Every
query names the catalogue's graph with ``default-graph-uri`` so the engine's other graphs never leak in.

Connections are kept open per thread (one request after another on the same socket,
``service.engine_wire``): a fresh TCP connection per query would cost about as much as a small query
itself. Every call is bounded by a
timeout; a refused connection, a timeout or an engine error becomes :class:`EngineError` with the HTTP
status the front end should answer (502, 503 or 504) and a sentence saying what happened.

Credentials (``service.engine_auth``) are sent only when the engine asks: the first 401 says which scheme
(Digest for Virtuoso's ``/sparql-auth``, Basic elsewhere), so a password never goes out as Basic to an
engine that wanted Digest. A token (Bearer) is sent with every request. A 401 is answered once per request,
never in a loop: credentials the engine still refuses are a 502 naming the variables to check, as the
SPARQL endpoint says it (``service.sparql.upstream``).
"""
from __future__ import annotations

import http.client
import os
import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

import orjson
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, parse

from .engine_auth import VARIABLES, Digest, Login, Unanswerable, challenges, refusal
from .engine_wire import TooLarge, Wire


class EngineError(Exception):
    """The engine could not answer: ``status`` is what to tell our client (502/503/504)."""

    def __init__(self, status: int, message: str, retry_after: int = 5):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        """Seconds for ``Retry-After`` when the status is 503 or 504."""


class EngineUnreachable(EngineError):
    """No HTTP answer at all: the connection was refused or broken, or what came back was not HTTP (502)."""

    def __init__(self, message: str, reason: str):
        super().__init__(502, message)
        self.reason = reason
        """Why, in a few words ("Connection refused")."""


class AnswerTooLarge(EngineError):
    """The answer was longer than the bound :meth:`Engine.exchange` was given (502; the SPARQL endpoint says 400)."""

    def __init__(self, limit: int, message: str):
        super().__init__(502, message)
        self.limit = limit


@dataclass(frozen=True)
class Exchange:
    """One answer of the engine, whatever its status (:meth:`Engine.exchange`)."""

    status: int
    reason: str
    headers: Mapping[str, str]
    """By lower-case name."""
    body: bytes


Term = NamedNode | BlankNode | Literal
_OTHER_ACCOUNT = f"the operator must set {VARIABLES} to an account the engine accepts with Basic, Digest or a token"


@dataclass(frozen=True)
class Reading:
    """What a site served from an engine reads: the graph, and the publication name it follows (None: fixed).

    A followed name is watched while serving (service.server): when ``ckg publish`` switches it to a
    new graph, the service reloads, because the graph it reads is dropped at the publish after next.
    """

    graph: str | None
    follows: str | None


_ESCAPED = re.compile(rb"[\x00-\x1f\x7f-\xff%&+;=]")
"""The bytes a form body must escape: the delimiters of its fields (``&``, ``=``, ``;`` for parsers that
still split on it), ``%`` and ``+`` (a space is written as ``+``), control and non-ASCII bytes."""
_SPACE_AS_PLUS = bytes.maketrans(b" ", b"+")


def form_encode(fields: Mapping[str, str] | Iterable[tuple[str, str]]) -> bytes:
    """``fields`` as an application/x-www-form-urlencoded body, escaping only what a form decoder reads
    specially (``_ESCAPED``); every other printable ASCII byte (``<``, ``{``, ``#``...) is sent as it is,
    which a decoder passes through unchanged. ``urlencode`` escapes those too, one Python call per byte:
    0.09 ms for a competency's 4 kB query, 0.6 ms for a level page's 20 kB, a tenth of the front end's
    own work for an uncached competency from an engine. Here the escapes are a few (newlines, ``&&``)."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    return b"&".join(name.encode("ascii") + b"=" + _ESCAPED.sub(_percent, value.encode("utf-8")).translate(_SPACE_AS_PLUS)
                     for name, value in pairs)


def _percent(match: re.Match) -> bytes:
    return b"%%%02X" % match.group()[0]


def _term(cell: dict) -> Term:
    kind = cell["type"]
    if kind == "uri":
        return NamedNode(cell["value"])
    if kind == "bnode":
        return BlankNode(cell["value"])
    if "xml:lang" in cell:
        return Literal(cell["value"], language=cell["xml:lang"])
    datatype = cell.get("datatype")
    return Literal(cell["value"], datatype=NamedNode(datatype)) if datatype else Literal(cell["value"])


@dataclass
class Engine:
    """The query endpoint of one engine and the graph read from it."""

    url: str
    graph: str | None = None
    """The named graph holding the catalogue; None reads the engine's default graph."""
    timeout: float = 10.0
    env: Mapping[str, str] | None = field(default=None, repr=False)
    """Where the credentials are read from (default: ``os.environ``); never shown."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--store must be an http(s) URL of a SPARQL query endpoint, not {shown(self.url)!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._host_header = parts.netloc.rpartition("@")[2]
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not (self._path + self._host_header).isascii() or any(c in self._path for c in " \r\n"):
            raise ValueError(f"--store URL {shown(self.url)!r}: write its path with %-escapes (ASCII, no spaces)")
        self._login = Login.from_env(os.environ if self.env is None else self.env)
        self._basic = False
        """The engine asked for Basic: sent with every request since (by every thread)."""
        self._local = threading.local()

    @property
    def signs_in(self) -> bool:
        """Whether credentials are set (what a refusal's message says to check)."""
        return self._login.given

    # ---- the wire ----

    def _connection(self) -> Wire:
        found = getattr(self._local, "connection", None)
        if found is None:
            found = self._local.connection = Wire(self._host, self._port, self._https, self.timeout)
        return found

    def close(self) -> None:
        """Close this thread's connection (the next query opens a new one)."""
        self._drop()

    def _drop(self) -> None:
        found = getattr(self._local, "connection", None)
        if found is not None:
            found.close()
            self._local.connection = None

    def _post(self, query: str, accept: str, dataset: bool = True) -> bytes:
        """``dataset=False`` leaves the dataset to the query (one that names its graphs, as the pointer's does)."""
        graph = {"default-graph-uri": self.graph} if self.graph and dataset else {}
        answer = self.exchange({"query": query, **graph}, accept)
        if answer.status in (401, 403, 407):
            raise EngineError(502, refusal(shown(self.url), answer.status, self._login.given))
        if answer.status != 200:
            detail = answer.body.decode("utf-8", "replace").strip().splitlines()[:3]
            raise EngineError(503 if answer.status == 503 else 502, f"the SPARQL engine at {shown(self.url)} answered "
                                                                    f"{answer.status} {answer.reason}: {' '.join(detail)[:300]}")
        return answer.body

    def exchange(self, fields: Mapping[str, str] | Iterable[tuple[str, str]], accept: str, *,
                 deadline: float | None = None, limit: int | None = None) -> Exchange:
        """POST the form ``fields`` and read the answer, whatever its status; a 401 is answered once when we
        have what it asks for (a second 401 is returned, never a loop).

        ``deadline`` (``time.monotonic()``): no read waits past it (else ``timeout`` per read); ``limit``: the
        most bytes of body read. Raises :class:`EngineError` 504 when no answer came in time,
        :class:`EngineUnreachable` when none came at all, :class:`AnswerTooLarge` past ``limit``."""
        body = form_encode(fields)
        head = (f"POST {self._path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nAccept: {accept}\r\nAccept-Encoding: identity\r\n")
        tail = f"Content-Length: {len(body)}\r\n\r\n"
        reconnected = challenged = False
        while True:
            authorization = self._authorization(body)
            request = (head + (f"Authorization: {authorization}\r\n" if authorization else "") + tail).encode("latin-1") + body
            connection = self._connection()
            try:
                status, reason, data = connection.exchange(request, deadline, limit)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self._drop()
                if reconnected:  # a kept-alive socket the engine closed meanwhile: retried once on a new one
                    raise EngineUnreachable(f"the SPARQL engine at {shown(self.url)} closed the connection: {error}",
                                            "it closed the connection") from None
                reconnected = True
                continue
            except (TimeoutError, socket.timeout):
                self._drop()
                within = "by the deadline" if deadline is not None else f"within {self.timeout:g} s"
                raise EngineError(504, f"the SPARQL engine at {shown(self.url)} gave no answer {within}") from None
            except TooLarge as error:
                self._drop()
                raise AnswerTooLarge(error.limit, f"the SPARQL engine at {shown(self.url)} sent more than "
                                                  f"{error.limit:,} bytes") from None
            except http.client.HTTPException as error:
                self._drop()
                raise EngineUnreachable(f"the SPARQL engine at {shown(self.url)} did not answer in HTTP: "
                                        f"{type(error).__name__} {error}", "its answer was not HTTP") from None
            except OSError as error:
                self._drop()
                raise EngineUnreachable(f"cannot reach the SPARQL engine at {shown(self.url)}: {error.strerror or error}",
                                        str(error.strerror or error)) from None
            if status == 401 and not challenged and self._answer(connection.challenges):
                challenged = True  # answered once; a second 401 for this request is a refusal, never a loop
                continue
            return Exchange(status, reason, connection.headers, data)

    def _authorization(self, body: bytes) -> str | None:
        """The ``Authorization`` value for the next request: the token, this thread's Digest, or Basic once asked."""
        if self._login.token:
            return "Bearer " + self._login.token
        digest: Digest | None = getattr(self._local, "digest", None)
        if digest is not None:
            return digest.header("POST", self._path, body)
        return self._login.basic() if self._basic else None

    def _answer(self, offered: list[str]) -> bool:
        """Prepare the answer to a 401's challenges (False: nothing we could send would change it)."""
        if self._login.token or not self._login.user:  # a token the engine refused, or no credentials at all
            return False
        schemes = challenges(offered)
        digest = next((params for scheme, params in schemes if scheme == "digest"), None)
        if digest is not None:
            try:
                self._local.digest = Digest(self._login, digest)
            except Unanswerable as error:
                raise EngineError(502, f"the SPARQL engine at {shown(self.url)} {error}; {_OTHER_ACCOUNT}") from None
            return True
        if any(scheme == "basic" for scheme, _ in schemes) and not self._basic:
            self._basic, self._local.digest = True, None
            return True
        if not schemes or any(scheme == "basic" for scheme, _ in schemes):
            return False
        names = ", ".join(sorted({scheme.capitalize() for scheme, _ in schemes}))
        raise EngineError(502, f"the SPARQL engine at {shown(self.url)} asks for {names} authentication, which this "
                               f"client does not speak (it speaks Basic, Digest and Bearer tokens); {_OTHER_ACCOUNT}")

    # ---- queries ----

    def select(self, query: str, dataset: bool = True) -> list[dict[str, Term]]:
        """The rows of a SELECT, each a dict of variable -> term (unbound variables absent)."""
        data = self._post(query, "application/sparql-results+json", dataset)
        try:
            bindings = orjson.loads(data)["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as error:
            raise EngineError(502, f"the SPARQL engine at {shown(self.url)} did not answer with SPARQL JSON results: {error}") from None
        return [{name: _term(cell) for name, cell in row.items()} for row in bindings]

    def iris(self, query: str, name: str) -> list[str]:
        """The IRIs bound to ``name`` in a SELECT's rows, as strings: for long lists of members (a level
        page's 2,000 competency levels), where making a term of every cell took half the CPU."""
        data = self._post(query, "application/sparql-results+json")
        try:
            rows = orjson.loads(data)["results"]["bindings"]
            return [row[name]["value"] for row in rows if row.get(name, {}).get("type") == "uri"]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise EngineError(502, f"the SPARQL engine at {shown(self.url)} did not answer with SPARQL JSON results: {error}") from None

    def construct(self, query: str, *, lenient: bool = True) -> list[Triple]:
        """The triples of a CONSTRUCT, read as N-Triples (every engine writes it; the fastest to parse).
        ``quad.triple`` is made in Rust: half the time of building each Triple from its terms in Python.

        Read leniently by default (IRIs and language tags are not validated again): 40 % less parsing, a
        tenth of the front end's own work for an uncached competency. The engine holds what ``ckg publish``
        loaded from a validated catalogue, the syntax of N-Triples is still checked, and every writer of
        ours escapes what it writes, so an odd IRI from a graph loaded by other tools cannot break out of
        an answer. The full reads that become files others download (``lenient=False``) are checked
        whole: a file must not carry what a strict reader would reject."""
        data = self._post(query, "application/n-triples")
        try:
            return [quad.triple for quad in parse(data, RdfFormat.N_TRIPLES, lenient=lenient)]
        except SyntaxError as error:
            raise EngineError(502, f"the SPARQL engine at {shown(self.url)} did not answer with N-Triples: {error}") from None

    def ask(self, query: str) -> bool:
        """An ASK's answer. Virtuoso answers some ASKs (with a ``default-graph-uri``) as a one-row table whose
        one cell is 1 or 0 instead of SPARQL's ``boolean``; both are read."""
        data = self._post(query, "application/sparql-results+json")
        try:
            answer = orjson.loads(data)
            if "boolean" in answer:
                return bool(answer["boolean"])
            rows = answer["results"]["bindings"]
            cells = list(rows[0].values()) if rows else []
            return bool(cells) and cells[0]["value"] not in ("0", "false")
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            raise EngineError(502, f"the SPARQL engine at {shown(self.url)} did not answer an ASK: {error}") from None


def shown(url: str) -> str:
    """``url`` without user-info (a password may be written there), for messages, logs and /status."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def iri(value: str) -> str:
    """``<value>`` for a query, refusing what could break out of the IRI (the value may come from a URL)."""
    if not writable(value):
        raise ValueError(f"not an IRI: {value!r}")
    return f"<{value}>"


def writable(value: str) -> bool:
    """Whether ``iri`` can write ``value`` into a query. An engine's own answers may hold IRIs it cannot: our
    reading of N-Triples is lenient (``Engine.construct``), so ``<a\\u0020b>`` comes back with a space."""
    return not any(c in value for c in '<>"{}|^`\\ \n\r\t')
