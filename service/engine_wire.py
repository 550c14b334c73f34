"""One kept-alive HTTP/1.1 connection to a SPARQL engine, for the queries ``ckg serve --store`` sends per page.

Why not ``http.client``: it writes a request's head and body in two writes (two wake-ups of the engine,
and a Nagle stall across a network), parses every answer's headers with the ``email`` package, and reads
a chunked answer a few Python calls per chunk; Oxigraph server sends a level page's 325 kB in 140 chunks.
Those costs were a fifth of the front end's CPU for an uncached page. Here a request leaves in one
write and an answer is read from a buffered socket with one ``readline`` per header and per chunk.

Only what the engine client needs: POST, a whole answer in memory, ``Content-Length``, chunked or
read-to-close bodies, keep-alive unless the engine says ``Connection: close``, and the ``WWW-Authenticate``
challenges of an answer (``challenges``, for ``service.engine_auth``). Failures are raised as the
standard library's exceptions (``http.client.RemoteDisconnected`` when a kept-alive connection was closed
by the engine, ``http.client.HTTPException`` for an answer that is not HTTP, ``OSError`` and timeouts from
the socket), which ``service.engine`` turns into 502/504 with a sentence.
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
IDLE_LIMIT = 30.0
"""Seconds a connection may sit unused and still be reused. Oxigraph server answers a request that arrives
on a connection idle for about a minute with 500 "Resource temporarily unavailable (os error 11)" (its
read timeout, measured), and load balancers and NATs drop idle connections silently; a fresh
connection costs less than that answer."""


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

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self.sock is not None:
            self.sock.close()
        self.sock, self._reader = None, None

    def _open(self) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the request is one write: send it now
        if self.secure:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        self.sock, self._reader = sock, sock.makefile("rb")

    def exchange(self, request: bytes) -> tuple[int, str, bytes]:
        """Send ``request`` (head and body, whole) and read the answer: status, reason and body."""
        if self.sock is not None and time.monotonic() - self._used > self.idle_limit:
            self.close()
        if self.sock is None:
            self._open()
        assert self.sock is not None and self._reader is not None
        self.sock.sendall(request)
        reader = self._reader
        while True:
            self.challenges = []
            status, reason, keep, length, chunked = self._head(reader, self.challenges)
            if not 100 <= status < 200:
                break
        if chunked:
            body = self._chunks(reader)
        elif length is not None:
            body = reader.read(length)
            if len(body) < length:
                raise http.client.IncompleteRead(body, length - len(body))
        else:
            body, keep = reader.read(), False
        if not keep:
            self.close()
        self._used = time.monotonic()
        return status, reason, body

    @staticmethod
    def _head(reader, challenges: list[str]) -> tuple[int, str, bool, int | None, bool]:
        line = reader.readline(_LINE + 1)
        if not line:
            raise http.client.RemoteDisconnected("the engine closed the connection without answering")
        version, _, rest = line.rstrip(b"\r\n").partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/") or not code.isdigit() or len(line) > _LINE:
            raise http.client.BadStatusLine(line.decode("latin-1")[:100])
        keep, length, chunked = version != b"HTTP/1.0", None, False
        for _ in range(_HEADERS):
            header = reader.readline(_LINE + 1)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            name, value = name.strip().lower(), value.strip()
            if name == b"www-authenticate":
                challenges.append(value.decode("latin-1"))
                continue
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

    @staticmethod
    def _chunks(reader) -> bytes:
        parts = []
        while True:
            line = reader.readline(_LINE + 1)
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(parts)) from None
            if size == 0:
                for _ in range(_HEADERS):  # trailers, up to the blank line
                    if reader.readline(_LINE + 1) in (b"\r\n", b"\n", b""):
                        return b"".join(parts)
                raise http.client.HTTPException(f"the engine sent more than {_HEADERS} trailer lines")
            chunk = reader.read(size + 2)  # the chunk and its CRLF
            if len(chunk) < size + 2:
                raise http.client.IncompleteRead(b"".join(parts) + chunk)
            parts.append(chunk[:size])
