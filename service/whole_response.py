"""Send an answer's status line and headers in the same write as its body, so a replica that dies mid-answer
leaves the proxy either nothing (which it replays on another replica) or the whole answer.

gunicorn writes the headers with one ``sendall`` and the body with the next. Between the two, a worker
thread can lose the GIL for milliseconds; if the replica is killed there (a crash, an OOM kill, a
container stopped), the client has received headers and then the connection ends. A load balancer
can retry a request that got no answer at all (HAProxy's ``retry-on empty-response``), but never one
whose answer has begun: measured with deploy/'s example under 64 connections, a SIGKILL cost 3 clients
an ``IncompleteRead`` until headers and body went out together.

Our answers are one bytes object each (Flask keeps a rendered answer whole), so holding the headers
until the first body bytes costs one concatenation. ``sendfile`` is off in ``ckg serve`` (see
service/server.py), so every body goes through :meth:`_emit_body`.
"""
from __future__ import annotations

from gunicorn.http import wsgi


class WholeResponse(wsgi.Response):
    """gunicorn's response, with the headers held back until they can go out with the body."""

    _held: bytes = b""

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        lines = self.default_headers()
        lines.extend("%s: %s\r\n" % (name, value) for name, value in self.headers)
        self._held = ("%s\r\n" % "".join(lines)).encode("latin-1")
        self.headers_sent = True  # for gunicorn: from now on the answer counts as started

    def _emit_body(self, data: bytes) -> None:
        if self.chunked:
            data = b"%X\r\n%s\r\n" % (len(data), data)
        held, self._held = self._held, b""
        self.sock.sendall(held + data)

    def can_sendfile(self) -> bool:
        return False  # sendfile would write the body past the held headers

    def close(self) -> None:
        """An answer without body bytes (304, HEAD, an empty body) sends its held headers here."""
        if not self.headers_sent:
            self.send_headers()
        held, self._held = self._held, b""
        if held:
            self.sock.sendall(held)
        super().close()


def install() -> None:
    """Make gunicorn build every response of this process as a :class:`WholeResponse` (called in a worker)."""
    wsgi.Response = WholeResponse
