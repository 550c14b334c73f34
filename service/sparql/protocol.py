"""Reading a SPARQL 1.1 Protocol query request (W3C, §2.1), with every way it can be wrong named.

The three ways to send a query: ``GET ?query=…``, ``POST`` of an HTML form
(``application/x-www-form-urlencoded``) and ``POST`` of the bare query (``application/sparql-query``,
with the dataset parameters in the URL). Parameters are decoded strictly as UTF-8 here, because
Werkzeug's own parsing silently replaces undecodable bytes, which would run a different query
from the one sent.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from flask import Request

MAX_BODY = 1_000_000
"""Largest request body accepted (bytes): far above any hand-written query, far below a nuisance."""

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UPDATE = "application/sparql-update"


class ProtocolError(Exception):
    """A request this endpoint cannot take, with the HTTP status and a message saying what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class QueryRequest:
    """The query and dataset of one request, and the explicit result ``format`` asked for (if any)."""

    query: str
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    format: str | None


def _decode_params(raw: bytes, where: str) -> list[tuple[str, str]]:
    """``a=1&b=%C3%AB`` as (name, value) pairs: '+' is a space, %XX a byte, and the bytes must be UTF-8."""
    pairs = []
    try:
        for field_ in raw.split(b"&"):
            if not field_:
                continue
            name, _, value = field_.partition(b"=")
            pairs.append((unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8"),
                          unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")))
        return pairs
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the {where} is not valid UTF-8 once percent-decoded: "
                                 f"SPARQL queries must be sent as UTF-8.") from None


def _read_body(request: Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ProtocolError(413, f"the request body is {request.content_length:,} bytes; at most {MAX_BODY:,} are accepted.")
    # Read at most one byte past the limit: a chunked body has no Content-Length, and reading it whole first
    # would let a client make the worker hold any amount of memory before the size is checked.
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise ProtocolError(413, f"the request body is larger than the {MAX_BODY:,} bytes accepted.")
    return body


def _decode_query(body: bytes, charset: str | None) -> str:
    """The body as text: UTF-8 only, as the SPARQL 1.1 Protocol says of a query string.

    The charset is looked up first, so the client is told which of three things is wrong: a name no
    codec has (``x-klingon``), a codec that is not a text encoding at all (``hex``, ``base64``, ``uu``,
    ``bz2``, ``zlib``, ``rot13``: Python can "decode" with them, but not into the query text), or a real
    text encoding other than UTF-8 (``UTF-16``, ``latin-1``; the W3C protocol test
    ``bad_query_non_utf8`` expects such a request refused, and accepting them would make the same
    query mean different things to different clients). All get 415, the status for a body in a form
    the endpoint does not take. ``ascii`` passes: every ASCII text is UTF-8.
    """
    if charset is not None:
        try:
            codec = codecs.lookup(charset)
        except (LookupError, ValueError):  # ValueError: a name with a NUL byte
            raise ProtocolError(415, f"unknown charset {charset!r} in Content-Type; send the query as UTF-8 "
                                     f"(Content-Type: {DIRECT}; charset=utf-8).") from None
        if not getattr(codec, "_is_text_encoding", True):
            raise ProtocolError(415, f"charset {charset!r} in Content-Type is not a text encoding; send the query "
                                     f"as UTF-8 (Content-Type: {DIRECT}; charset=utf-8).")
        if codec.name not in ("utf-8", "ascii"):
            raise ProtocolError(415, f"charset {charset!r} in Content-Type: the SPARQL protocol takes queries in "
                                     f"UTF-8 only; send the query as UTF-8 (Content-Type: {DIRECT}; charset=utf-8).")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"the query is not valid UTF-8 (byte {error.start}); "
                                 f"send it as UTF-8 and say so: Content-Type: {DIRECT}; charset=utf-8.") from None


def _refuse_update(params: list[tuple[str, str]], content_type: str) -> None:
    if content_type == UPDATE or any(name == "update" for name, _ in params):
        raise ProtocolError(400, "this is a read-only SPARQL query endpoint: SPARQL Update is not accepted "
                                 "and nothing was changed.")


def _one_query(queries: list[str]) -> str:
    if len(queries) > 1:
        raise ProtocolError(400, f"the request carries {len(queries)} queries; send exactly one 'query' per request.")
    query = queries[0]
    if not query.strip():
        raise ProtocolError(400, "the 'query' parameter is empty; send a SPARQL query.")
    return query


def _dataset(params: list[tuple[str, str]]) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """``default-graph-uri``/``named-graph-uri``: when either is given, the two together are the dataset."""
    default = tuple(v for k, v in params if k == "default-graph-uri")
    named = tuple(v for k, v in params if k == "named-graph-uri")
    if not default and not named:
        return None, None
    for iri in default + named:
        if not iri or any(c in iri for c in ' <>"{}|^`\\') or ":" not in iri:
            raise ProtocolError(400, f"{iri!r} is not an absolute IRI; default-graph-uri and named-graph-uri take "
                                     f"graph IRIs.")
    return default, named


def _format(params: list[tuple[str, str]]) -> str | None:
    for key in ("format", "output"):
        values = [v for k, v in params if k == key and v]
        if values:
            return values[0]
    return None


def read_query_request(request: Request) -> QueryRequest | None:
    """The query request in ``request``; ``None`` for a plain GET without a query (service description).

    Raises :class:`ProtocolError` for anything the protocol does not allow.
    """
    url_params = _decode_params(request.query_string, "URL's query string")
    if request.method in ("GET", "HEAD"):
        _refuse_update(url_params, "")
        queries = [v for k, v in url_params if k == "query"]
        if not queries:
            return None
        params = url_params
        query = _one_query(queries)
    elif request.method == "POST":
        content_type = (request.mimetype or "").lower()
        if content_type == FORM:
            body_params = _decode_params(_read_body(request), "form body")
            params = url_params + body_params
            _refuse_update(params, content_type)
            queries = [v for k, v in params if k == "query"]
            if not queries:
                raise ProtocolError(400, "the form has no 'query' field; send query=<your SPARQL query>.")
            query = _one_query(queries)
        elif content_type == DIRECT:
            _refuse_update(url_params, content_type)
            if any(k == "query" for k, _ in url_params):
                raise ProtocolError(400, "the query is both in the body and in the URL's 'query' parameter; send "
                                         "exactly one query per request.")
            params = url_params
            query = _one_query([_decode_query(_read_body(request), request.mimetype_params.get("charset"))])
        else:
            _refuse_update(url_params, content_type)
            shown = f"'{request.content_type}'" if request.content_type else "no Content-Type"
            raise ProtocolError(415, f"a POST to this endpoint needs Content-Type {FORM} (with a 'query' field) or "
                                     f"{DIRECT} (the query as the body); this request has {shown}.")
    else:  # routing only lets GET, HEAD, POST and OPTIONS through
        raise ProtocolError(405, f"{request.method} is not allowed here; use GET or POST.")
    default_graphs, named_graphs = _dataset(params)
    return QueryRequest(query, default_graphs, named_graphs, _format(params))
