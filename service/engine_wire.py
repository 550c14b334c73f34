"""One kept-alive HTTP/1.1 connection to a SPARQL engine, for the queries ``ckg serve --store`` sends per page.

Why not ``http.client``: it writes a request's head and body in two writes (two wake-ups of the engine,
and a Nagle stall across a network), parses every answer's headers with the ``email`` package, and reads
a chunked answer a few Python calls per chunk; Oxigraph server sends a level page's 325 kB in 140 chunks.
Those costs were a fifth of the front end's CPU for an uncached page. Here a request leaves in one
write and an answer is read from a buffered socket with one ``readline`` per header and per chunk.

Only what the engine clients need: POST, a whole answer in memory, ``Content-Length``, chunked or
read-to-close bodies, keep-alive unless the engine says ``Connection: close``, the ``WWW-Authenticate``
challenges of an answer (``challenges``, for ``service.engine_auth``) and its other headers. The SPARQL
endpoint in front of an engine (``service.sparql.upstream``) also gives a deadline and a byte bound: the
answer is then read as it comes, each socket read waiting only for the time left, so an engine that sends
slowly is cut at the deadline, and one that sends too much is cut at the bound. Failures are raised as the
standard library's exceptions (``http.client.RemoteDisconnected`` when a kept-alive connection was closed
by the engine, ``http.client.HTTPException`` for an answer that is not HTTP, ``OSError`` and timeouts from
the socket) or :class:`TooLarge`, which ``service.engine`` turns into 502/504 with a sentence.
"""
from __future__ import annotations

import http.client
import socket
import ssl
import time

_LINE = 65_536
"""Longest status or header line (and chunk-size line) accepted from an engine."""
_HEADERS = 200
"""Most header lines accepted in one answer."""
_PART = 65_536
"""Most bytes one socket read returns when an answer is read against a deadline."""
IDLE_LIMIT = 30.0
"""Seconds a connection may sit unused and still be reused. Oxigraph server answers a request that arrives
on a connection idle for about a minute with 500 "Resource temporarily unavailable (os error 11)" (its
read timeout, measured), and load balancers and NATs drop idle connections silently; a fresh
connection costs less than that answer."""


class TooLarge(Exception):
    """The answer's body is longer than the bound the request was sent with (the connection is closed)."""

    def __init__(self, limit: int):
        super().__init__(f"the answer is longer than {limit} bytes")
        self.limit = limit


class Wire:
    """A connection to ``host:port`` (TLS if ``secure``), opened on first use and kept open between requests."""

    def __init__(self, host: str, port: int | None, secure: bool, timeout: float):
        self.host, self.port = host, port or (443 if secure else 80)
        self.secure, self.timeout = secure, timeout
        self.sock: socket.socket | None = None
        self._reader = None
        self.idle_limit = IDLE_LIMIT
        self._used = 0.0
        self.challenges: list[str] = []
        """The ``WWW-Authenticate`` values of the last answer (as sent: a Digest nonce is case-sensitive)."""
        self.headers: dict[str, str] = {}
        """The other headers of the last answer, by lower-case name (the last value of a repeated one)."""
        self._deadline: float | None = None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self.sock is not None:
            self.sock.close()
        self.sock, self._reader = None, None

    def _open(self) -> None:
        timeout = self.timeout if self._deadline is None else max(0.001, min(self.timeout, self._deadline - time.monotonic()))
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the request is one write: send it now
        if self.secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock, self._reader = sock, sock.makefile("rb")

    def exchange(self, request: bytes, deadline: float | None = None, limit: int | None = None) -> tuple[int, str, bytes]:
        """Send ``request`` (head and body, whole) and read the answer: status, reason and body.

        ``deadline`` (``time.monotonic()``): no socket operation waits past it (``TimeoutError``); ``limit``:
        a body longer than that many bytes raises :class:`TooLarge`. Either closes the connection."""
        self._deadline = deadline
        try:
            return self._exchange(request, limit)
        except BaseException:
            self.close()  # an answer left half read: the connection cannot carry another one
            raise
        finally:
            if deadline is not None and self.sock is not None:
                self.sock.settimeout(self.timeout)  # the next request on this connection may have no deadline
            self._deadline = None

    def _exchange(self, request: bytes, limit: int | None) -> tuple[int, str, bytes]:
        if self.sock is not None and time.monotonic() - self._used > self.idle_limit:
            self.close()
        if self.sock is None:
            self._open()
        assert self.sock is not None and self._reader is not None
        self._wait()
        self.sock.sendall(request)
        reader = self._reader
        while True:
            self.challenges, self.headers = [], {}
            status, reason, keep, length, chunked = self._head(reader, self.challenges, self.headers)
            if not 100 <= status < 200:
                break
        bounded = limit is not None or self._deadline is not None
        if chunked:
            body = self._chunks(reader, bounded, limit)
        elif length is not None:
            if limit is not None and length > limit:
                raise TooLarge(limit)
            body = self._read(reader, length) if bounded else reader.read(length)
            if len(body) < length:
                raise http.client.IncompleteRead(body, length - len(body))
        else:
            body, keep = (self._read(reader, None, limit) if bounded else reader.read()), False
        if not keep:
            self.close()
        self._used = time.monotonic()
        return status, reason, body

    def _wait(self) -> None:
        """Let the next socket operation wait only for the time left before the deadline (if any)."""
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the deadline passed")
            assert self.sock is not None
            self.sock.settimeout(left)

    def _read(self, reader, size: int | None, limit: int | None = None) -> bytes:
        """``size`` bytes (None: up to the end), a socket read at a time: each waits only for the time left
        (``read`` would wait for all of them, however slowly they come)."""
        parts, got = [], 0
        while size is None or got < size:
            self._wait()
            part = reader.read1(_PART if size is None else min(_PART, size - got))
            if not part:
                break
            got += len(part)
            if limit is not None and got > limit:
                raise TooLarge(limit)
            parts.append(part)
        return b"".join(parts)

    def _head(self, reader, challenges: list[str], headers: dict[str, str]) -> tuple[int, str, bool, int | None, bool]:
        """The status line and headers, each line read against the deadline: an engine that sends a header line
        now and then would otherwise hold the request for as many lines as it likes."""
        self._wait()
        line = reader.readline(_LINE + 1)
        if not line:
            raise http.client.RemoteDisconnected("the engine closed the connection without answering")
        version, _, rest = line.rstrip(b"\r\n").partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/") or not code.isdigit() or len(line) > _LINE:
            raise http.client.BadStatusLine(line.decode("latin-1")[:100])
        keep, length, chunked = version != b"HTTP/1.0", None, False
        for _ in range(_HEADERS):
            self._wait()
            header = reader.readline(_LINE + 1)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            name, value = name.strip().lower(), value.strip()
            if name == b"www-authenticate":
                challenges.append(value.decode("latin-1"))
                continue
            headers[name.decode("latin-1")] = value.decode("latin-1")
            value = value.lower()
            if name == b"content-length":
                if not value.isdigit():
                    raise http.client.HTTPException(f"the engine sent Content-Length {value!r}")
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.endswith(b"chunked")
            elif name == b"connection":
                keep = b"close" not in value if keep else b"keep-alive" in value
        else:
            raise http.client.HTTPException(f"the engine sent more than {_HEADERS} header lines")
        return int(code), reason.decode("latin-1"), keep, length, chunked

    def _chunks(self, reader, bounded: bool, limit: int | None) -> bytes:
        """A chunked body; ``bounded``: read against the deadline and ``limit`` (else each chunk in one read)."""
        parts, got = [], 0
        while True:
            if bounded:
                self._wait()
            line = reader.readline(_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(parts)) from None
            if size == 0:
                for _ in range(_HEADERS):  # trailers, up to the blank line
                    if bounded:
                        self._wait()
                    if reader.readline(_LINE + 1) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise http.client.HTTPException(f"the engine sent more than {_HEADERS} trailer lines")
            got += size
            if limit is not None and got > limit:
                raise TooLarge(limit)
            chunk = self._read(reader, size + 2) if bounded else reader.read(size + 2)  # the chunk and its CRLF
            if len(chunk) < size + 2:
                raise http.client.IncompleteRead(b"".join(parts) + chunk)
            parts.append(chunk[:size])
