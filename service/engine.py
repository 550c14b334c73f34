"""A small SPARQL 1.1 Protocol client for reading the catalogue out of an engine (``ckg serve --store``).

Only the standard protocol is used (a form-encoded POST of ``query``, answers as N-Triples or SPARQL
JSON results), so Oxigraph server, Virtuoso, Fuseki, GraphDB and Neptune are read the same way. Every
query names the catalogue's graph with ``default-graph-uri`` so the engine's other graphs never leak in.

Connections are kept open per thread (one request after another on the same socket,
``service.engine_wire``): a fresh TCP connection per query would cost about as much as a small query
itself. Every call is bounded by a
timeout; a refused connection, a timeout or an engine error becomes :class:`EngineError` with the HTTP
status the front end should answer (502, 503 or 504) and a sentence saying what happened.
"""
from __future__ import annotations

import base64
import http.client
import os
import socket
import threading
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit, urlunsplit

import orjson
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, parse

from .engine_wire import Wire


class EngineError(Exception):
    """The engine could not answer: ``status`` is what to tell our client (502/503/504)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


Term = NamedNode | BlankNode | Literal


@dataclass(frozen=True)
class Reading:
    """What a site served from an engine reads: the graph, and the publication name it follows (None: fixed).

    A followed name is watched while serving (service.server): when ``ckg publish`` switches it to a
    new graph, the service reloads, because the graph it reads is dropped at the publish after next.
    """

    graph: str | None
    follows: str | None


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_FORM = {byte: chr(byte) if byte in _UNRESERVED else "+" if byte == 0x20 else f"%{byte:02X}" for byte in range(256)}
"""Each byte as application/x-www-form-urlencoded writes it (what ``urlencode`` gives, byte for byte)."""


def form_encode(fields: Mapping[str, str]) -> bytes:
    """``urlencode(fields)``, about a third faster: one C-level ``str.translate`` over the UTF-8 bytes
    instead of a Python call per byte, which cost ~1.5 ms for the 20 kB query of a level page."""
    return "&".join(f"{name}={value.encode('utf-8').decode('latin-1').translate(_FORM)}"
                    for name, value in fields.items()).encode("ascii")


def _auth_header(env: Mapping[str, str]) -> str | None:
    """Bearer from CKG_STORE_TOKEN, else Basic from CKG_STORE_USER/PASSWORD (read endpoints rarely ask)."""
    if env.get("CKG_STORE_TOKEN"):
        return "Bearer " + env["CKG_STORE_TOKEN"]
    if env.get("CKG_STORE_USER"):
        pair = f"{env['CKG_STORE_USER']}:{env.get('CKG_STORE_PASSWORD', '')}".encode("utf-8")
        return "Basic " + base64.b64encode(pair).decode("ascii")
    return None


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
    env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--store must be an http(s) URL of a SPARQL query endpoint, not {shown(self.url)!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._host_header = parts.netloc.rpartition("@")[2]
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._auth = _auth_header(os.environ if self.env is None else self.env)
        if not (self._path + self._host_header).isascii() or any(c in self._path for c in " \r\n"):
            raise ValueError(f"--store URL {shown(self.url)!r}: write its path with %-escapes (ASCII, no spaces)")
        if self._auth and (not self._auth.isascii() or any(c in self._auth for c in "\r\n")):
            raise ValueError("CKG_STORE_TOKEN / CKG_STORE_USER / CKG_STORE_PASSWORD: use printable ASCII "
                             "(the credentials go into an HTTP header)")
        self._local = threading.local()

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
        body = form_encode({"query": query, **graph})
        request = (f"POST {self._path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
                   f"Content-Type: application/x-www-form-urlencoded\r\nAccept: {accept}\r\n"
                   + (f"Authorization: {self._auth}\r\n" if self._auth else "")
                   + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):  # a kept-alive socket the engine closed meanwhile: retry once on a new one
            connection = self._connection()
            try:
                status, reason, data = connection.exchange(request)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as error:
                self._drop()
                if attempt == 2:
                    raise EngineError(502, f"the SPARQL engine at {shown(self.url)} closed the connection: {error}") from None
                continue
            except (TimeoutError, socket.timeout):
                self._drop()
                raise EngineError(504, f"the SPARQL engine at {shown(self.url)} gave no answer within {self.timeout:g} s") from None
            except http.client.HTTPException as error:
                self._drop()
                raise EngineError(502, f"the SPARQL engine at {shown(self.url)} did not answer in HTTP: "
                                       f"{type(error).__name__} {error}") from None
            except OSError as error:
                self._drop()
                raise EngineError(502, f"cannot reach the SPARQL engine at {shown(self.url)}: "
                                       f"{error.strerror or error}") from None
            if status != 200:
                detail = data.decode("utf-8", "replace").strip().splitlines()[:3]
                raise EngineError(503 if status == 503 else 502, f"the SPARQL engine at {shown(self.url)} answered "
                                                                 f"{status} {reason}: {' '.join(detail)[:300]}")
            return data
        raise AssertionError("unreachable")

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

    def construct(self, query: str) -> list[Triple]:
        """The triples of a CONSTRUCT, read as N-Triples (every engine writes it; the fastest to parse).
        ``quad.triple`` is made in Rust: half the time of building each Triple from its terms in Python."""
        data = self._post(query, "application/n-triples")
        try:
            return [quad.triple for quad in parse(data, RdfFormat.N_TRIPLES)]
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
    if any(c in value for c in '<>"{}|^`\\ \n\r\t'):
        raise ValueError(f"not an IRI: {value!r}")
    return f"<{value}>"
