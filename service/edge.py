"""The HTTP edge every blueprint goes through: which format to answer in, conditional requests, CORS
and the plain-text error bodies.

Blueprints describe what a route offers (an :class:`Offer`) and raise :class:`Refused` for what
the client can fix; they never build an error response or a CORS header themselves. The app
installs :func:`install` once: one ``after_request`` hook for CORS (every answer, errors
included, since the data is public and read-only) and one error handler that turns every refusal,
every ``HTTPException`` and every unexpected exception into a plain answer with the right status.
Unexpected exceptions are logged with their traceback on the server and answered 500 without one.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from flask import Flask, Response, request, send_file
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES, parse_range_header

from . import negotiation

TEXT = "text/plain; charset=utf-8"
VARY = "Accept, Accept-Language"
"""What answers with a page language vary on; data-only answers vary on ``Accept`` alone."""
EXPOSED = "Content-Type, Content-Length, ETag, Link, Vary, X-Cache, X-Total-Count"
"""Response headers a browser script may read besides the CORS-safelisted ones."""
PREFLIGHT_HEADERS = ("Accept", "Accept-Language", "Content-Type", "If-None-Match")
"""Request headers this service reads; a preflight also allows any others the browser names."""

_METHOD_ORDER = ("GET", "HEAD", "POST", "OPTIONS")
log = logging.getLogger("service")


class Refused(Exception):
    """A request the client can fix: answered with ``status`` and ``message`` as plain text.

    ``headers`` go with the answer (e.g. ``Vary``, or ``Link`` to the twins after a 406).
    ``prefixed`` starts the body with the status line (``406 Not Acceptable: …``), as every
    page and data route does; the SPARQL endpoint's errors are the bare message, as its clients
    show them to people.
    """

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None,
                 *, prefixed: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.prefixed = prefixed


def error_text(status: int, message: str) -> str:
    """``404 Not Found: message`` and a newline: the first line of every plain error body."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Error')}: {message.rstrip()}\n"


def plain(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """A plain-text answer (UTF-8, ending in a newline)."""
    return Response(text.rstrip("\n") + "\n", status=status, content_type=TEXT, headers=dict(headers or {}))


# ---- choosing the format -------------------------------------------------------------------

_PROFILE = re.compile(r';\s*profile\s*=\s*("[^"]*"|[^;,]*)', re.IGNORECASE)


@lru_cache(maxsize=1024)
def _best(accept: str | None, offered: tuple[str, ...]) -> str | None:
    """Accept header -> chosen media type; headers repeat, so each is parsed once per offer.

    A JSON-LD ``profile`` parameter (expanded, compacted, flattened...) is a wish, not a
    condition (JSON-LD 1.1 §9.1): documents are served in their one shape rather than refused,
    so the parameter is dropped before matching.
    """
    if accept and "profile" in accept:
        accept = _PROFILE.sub("", accept)
    return negotiation.choose(accept, offered)


def param(name: str, default: str = "") -> str:
    """A query parameter; requests without a query string (most of them) skip parsing altogether."""
    if not request.query_string:
        return default
    return request.args.get(name, default)


_WHOLE = re.compile(r"[0-9]{1,9}")


def whole_number(name: str, default: int, vary: str = VARY) -> int:
    """Query parameter ``name`` as a whole number from 1, else a 400 naming it.

    Only ASCII digits, and at most nine: ``str.isdigit`` also accepts "²" and other Unicode digits
    that ``int`` then rejects, and ``int`` refuses (or takes long on) thousands of digits.
    """
    if not request.query_string or name not in request.args:
        return default
    raw = request.args[name]
    if not _WHOLE.fullmatch(raw) or int(raw) < 1:
        raise Refused(400, f"{name} must be a whole number from 1 (digits 0-9), not {raw[:40]!r}", {"Vary": vary})
    return int(raw)


@dataclass(frozen=True)
class Offer:
    """What a route serves, and how a request picks among it.

    The order of choice is the same on every route: a suffix twin the route found in its path
    (``.ttl``), else ``?format=NAME``, else the ``Accept`` header (``offered``, best first for
    ties). An unknown ``format`` is a 400 naming the known ones; an ``Accept`` that allows
    nothing offered is a 406 naming what is.
    """

    what: str
    """How the 406 names the thing ("this resource", "/mappings")."""
    names: Mapping[str, str]
    """Format name (suffix twin, ``?format=``) -> media type; the first names are listed in a 400."""
    offered: tuple[str, ...]
    """Media types ``Accept`` chooses among, in the server's order of preference."""
    listed: tuple[str, ...] = ()
    """The names a 400 lists (default: every name)."""
    vary: str = "Accept"
    """The ``Vary`` of the refusals (answers set their own)."""
    advice: tuple[str, ...] = field(default=())
    """Lines after a 406's first one (e.g. how to ask)."""

    def choose(self, suffix: str | None = None, *,
               twins: Callable[[], tuple[Iterable[str], str]] | None = None) -> str:
        """The media type to answer with; raises :class:`Refused` (400 or 406) when there is none.

        ``twins`` gives, only when a 406 is written, its extra lines (where the twins are) and its
        ``Link`` header.
        """
        if suffix is not None:
            return self.names[suffix]
        name = param("format")
        if name:
            if name in self.names:
                return self.names[name]
            raise Refused(400, f"unknown format {name!r}; use one of: {', '.join(self.listed or self.names)}",
                          {"Vary": self.vary})
        chosen = _best(request.headers.get("Accept"), self.offered)
        if chosen is None:
            hints, links = twins() if twins else ((), "")
            lines = [f"{self.what} is offered as {', '.join(self.offered)}.", *self.advice, *hints]
            raise Refused(406, "\n".join(lines), {"Vary": self.vary, **({"Link": links} if links else {})})
        return chosen


def accepted(offered: Sequence[str]) -> str | None:
    """The best of ``offered`` for this request's ``Accept`` (None if none), for answers that are not refused."""
    return _best(request.headers.get("Accept"), tuple(offered))


# ---- answers rendered once -------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """An answer ready to send: computed once, then only copied into responses."""

    body: bytes
    content_type: str
    etag: str
    headers: tuple[tuple[str, str], ...]
    """``ETag``, ``Vary`` and ``Link``: what a 304 repeats (RFC 9110 §15.4.5)."""


def rendered(body: bytes, content_type: str, links: str = "", vary: str | None = VARY) -> Rendered:
    etag = etag_of(body)
    headers = [("ETag", etag)]
    if vary:
        headers.append(("Vary", vary))
    if links:
        headers.append(("Link", links))
    return Rendered(body, content_type, etag, tuple(headers))


IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of what can never change: a release's files and data, the feed's version pages."""


def answer(found: Rendered, cache_control: str | None = None) -> Response:
    """``found`` as a 200, or a 304 when the client already holds these bytes (both with ``cache_control``)."""
    headers = (*found.headers, ("Cache-Control", cache_control)) if cache_control else found.headers
    if not_modified(found.etag):
        return Response(status=304, headers=headers)
    return Response(found.body, status=200, headers=headers, content_type=found.content_type)


# ---- validators -----------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    """A strong ETag: the digest of the bytes, so equal answers share it across workers and restarts."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def not_modified(etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (weak comparison, as RFC 9110 asks for GET)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags


def file_answer(path: Path, media_type: str, *, etag: str | None = None, attachment: str | None = None,
                max_age: int | None = None) -> Response:
    """The file at ``path``, streamed, with ranges and 304s decided by its content alone: ``etag`` (else
    the digest of its bytes) and no ``Last-Modified``.

    werkzeug tags a file by its modification time and sends that time: each replica (and each restart of
    a site from an engine) writes its files at its own moment, so the same bytes had other validators on
    every replica, and a cache revalidating with ``If-Modified-Since`` at another replica could be told
    304 for different bytes. ``max_age``: None leaves ``Cache-Control: no-cache``, 0 adds ``max-age=0``."""
    response = send_file(path, mimetype=media_type, as_attachment=attachment is not None,
                         download_name=attachment or path.name, etag=False, conditional=False, max_age=max_age)
    del response.headers["Last-Modified"]  # (assigning None would send the current time)
    response.set_etag(etag or file_digest(path))
    if media_type.startswith("text/"):
        response.headers["Content-Type"] = f"{media_type}; charset=utf-8"
    return response.make_conditional(_served_range(request.environ), accept_ranges=True,
                                     complete_length=path.stat().st_size)


def _served_range(environ: dict) -> dict:
    """The request as ``make_conditional`` should see it: without its ``Range`` unless that is one byte range.

    werkzeug refuses every other ``Range`` with 416, but RFC 9110 (14.2) says a range unit the server does not
    understand MUST be ignored and an invalid one MAY be, and several ranges (werkzeug sends no
    multipart/byteranges) are a request the whole file answers. 416 stays for a byte range past the end."""
    header = environ.get("HTTP_RANGE")
    if header is None:
        return environ
    parsed = parse_range_header(header)
    if parsed is not None and parsed.units == "bytes" and len(parsed.ranges) == 1:
        return environ
    return {key: value for key, value in environ.items() if key != "HTTP_RANGE"}


def file_digest(path: Path) -> str:
    """A strong ETag value from the file's bytes. Kept per (path, size, time): a site from an engine writes
    its files at the same path again after a publish."""
    stat = path.stat()
    return _file_digest(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _file_digest(path: Path, size: int, modified: int) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()[:32]


# ---- the app-wide hooks ---------------------------------------------------------------------


def _method_rank(method: str) -> tuple[int, str]:
    """A stable order for the methods a preflight allows (werkzeug's ``Allow`` comes from a set)."""
    return (_METHOD_ORDER.index(method) if method in _METHOD_ORDER else len(_METHOD_ORDER), method)


def _cors(response: Response) -> Response:
    """Any web page may read this public, read-only service: every answer says so, errors included."""
    headers = response.headers
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Access-Control-Expose-Headers"] = EXPOSED
    if request.method == "OPTIONS":  # a preflight: allow the methods of the route and the headers asked about
        allowed = {m.strip() for m in headers.get("Allow", "GET, HEAD, OPTIONS").split(",")}
        headers["Access-Control-Allow-Methods"] = ", ".join(sorted(allowed, key=_method_rank))
        asked = [h.strip() for h in request.headers.get("Access-Control-Request-Headers", "").split(",") if h.strip()]
        known = {h.lower() for h in PREFLIGHT_HEADERS}
        headers["Access-Control-Allow-Headers"] = ", ".join([*PREFLIGHT_HEADERS,
                                                             *(h for h in asked if h.lower() not in known)])
        headers["Access-Control-Max-Age"] = "86400"
        if response.calculate_content_length() == 0:
            del headers["Content-Type"]  # no body, so no type
    return response


def _refused(error: Refused) -> Response:
    text = error_text(error.status, error.message) if error.prefixed else error.message
    return plain(error.status, text, error.headers)


def _http_error(error: HTTPException) -> Response:
    """Werkzeug's own refusals (405, 413, a 404 outside the catch-all...) as plain text, headers kept."""
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return plain(error.code or 500, error_text(error.code or 500, error.description or error.name), headers)


def _unexpected(error: Exception) -> Response:
    """A bug: logged here with its traceback, answered without it."""
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, ParseException):  # gunicorn refusing a body the app reads (e.g. a bad chunk)
        return plain(400, error_text(400, f"the request is malformed: {error}"))
    log.exception("unhandled error answering %s %s", request.method, request.path)
    return plain(500, error_text(500, "the server failed to answer this request; the error has been logged. "
                                      "Please report it if it persists."))


def install(app: Flask) -> None:
    """The one CORS hook and the one error handler, for every blueprint of ``app``."""
    app.after_request(_cors)
    app.register_error_handler(Refused, _refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
