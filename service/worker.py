"""The gunicorn worker of ``ckg serve``: requests are read whole in the event loop, then served by a thread.

gunicorn's ``gthread`` worker hands a connection to a request thread as soon as it is readable, and
the thread then blocks reading the head and the body: a few clients that send a ``Content-Length``
and trickle the body hold every thread, and the service stops answering. Here the event loop (one
per worker, non-blocking) reads each request until :mod:`service.framing` says it is complete, with
a total deadline from its first byte and a cap on its size, and only then gives it to a thread,
whose parser finds every byte already buffered. A slow or idle client costs a socket and the bytes
it sent, never a thread (and the bytes of all requests a worker holds, arriving or queued for a
thread, are capped by ``CKG_REQUEST_BUFFER_MIB``: past it, 503); past the deadline it gets ``408`` (or, if it never started a request, a
silent close); a head or body too large gets ``431``/``413`` at once, before anyone reads it.

Answers are written by the thread, so a client that stops reading a large answer (beyond what the
socket buffers hold, a few hundred KB) stalls that thread: the kernel ends any send that makes no
progress for ``CKG_SEND_TIMEOUT`` (SO_SNDTIMEO, nginx's ``send_timeout``), the thread gives up and
the connection is closed. ``sendfile`` is off for the same reason (Python waits on it without limit).

The event loop also closes connections without blocking: gunicorn lingers on a closing socket for
up to 2 s *in the event loop*, so a client that never closes its end would stall every other
connection of the worker; here that linger is one more deadline of the loop.

This subclasses gunicorn's documented ``gthread`` worker (``ThreadWorker``) and uses some of its
internals (``accept``, ``finish_request``, the poller, a connection's ``parser.unreader``), so
``pyproject.toml`` pins gunicorn to the 27 series this was written against. TLS is not served by
``ckg serve`` (a proxy terminates it), and this worker refuses to start with it.
"""
from __future__ import annotations

import errno
import selectors
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.http import HTTP_STATUS_CODES

from .config import ServiceConfig
from .edge import error_text
from .sparql.protocol import MAX_BODY
from . import whole_response
from .framing import COMPLETE, MORE, Framing, Refusal

LINGER = 2.0
"""Seconds a closing connection may take to send its FIN after our answer (RFC 9112 §9.6)."""
LINGER_BYTES = 65536
THREAD_READ_TIMEOUT = 1.0
"""A request thread never needs to wait on the socket (the request is buffered); should framing ever
disagree with gunicorn's parser, the kernel ends that read after this many seconds (SO_RCVTIMEO)."""
RECV_SIZE = 65536


@dataclass(eq=False)
class _Reading:
    """A connection whose request is being read by the event loop."""

    conn: TConn
    framing: Framing
    deadline: float
    done: bool = False
    continued: bool = False


@dataclass(eq=False)
class _Closing:
    """A connection we answered and half-closed, waiting for the client's FIN (bounded by ``deadline``)."""

    sock: socket.socket
    deadline: float
    drained: int = 0
    done: bool = False


@dataclass
class Limits:
    """The read limits of one worker, from the service's settings."""

    request_timeout: float
    max_head: int
    max_body: int
    buffer_bytes: int
    send_timeout: float


class RequestReadingWorker(ThreadWorker):
    """``gthread``, but a thread gets a connection only with a complete request in its buffer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: deque[_Reading] = deque()  # by deadline (every deadline is now + the same timeout)
        self.closing: deque[_Closing] = deque()
        self.buffered = 0
        """Bytes of requests held in memory: still arriving, or complete and waiting for / served by a thread."""
        self.held: dict[TConn, int] = {}

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("ckg serve's worker reads requests in its event loop and cannot serve TLS; "
                               "put a TLS-terminating proxy in front of it")
        app = self.app.wsgi()  # preloaded: the Flask app built in the master
        site = getattr(app, "extensions", {}).get("ckg")
        self.limits = limits_of(site.config if site is not None else ServiceConfig())
        whole_response.install()  # headers and body in one write: a replica killed mid-answer sends none of it
        super().init_process()  # runs the worker until it stops

    # ---- reading a request in the event loop ---------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        self.nr_conns += 1
        # The safety net: a thread reading this socket gives up instead of waiting (see THREAD_READ_TIMEOUT).
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(THREAD_READ_TIMEOUT))
        # A client that stops reading its answer: a thread's send gives up after this long without progress.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(self.limits.send_timeout))
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking from here
        self._read_request(conn, b"")

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection starts its next request: read it here, not in a thread."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_request(conn, b"")

    def _read_request(self, conn: TConn, already: bytes) -> None:
        state = _Reading(conn, Framing(self.limits.max_head, self.limits.max_body),
                         time.monotonic() + self.limits.request_timeout)
        self.reading.append(state)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, state))
        if already:
            self._take(state, already)

    def _on_readable(self, state: _Reading, sock: socket.socket) -> None:
        data = _receive(sock)
        if data is None:
            return
        if not data:  # the client went away
            self._stop_reading(state)
            self._close(state.conn.sock)
            return
        self._take(state, data)

    def _take(self, state: _Reading, data: bytes) -> None:
        if self.buffered + len(data) > self.limits.buffer_bytes:
            self._stop_reading(state)
            self._refuse(state.conn.sock, Refusal(503, "the server holds too many requests in memory right "
                                                       "now; send yours again in a moment."),
                         {"Retry-After": "1"})
            return
        self.buffered += len(data)
        verdict = state.framing.feed(data)
        if verdict == COMPLETE:
            self._stop_reading(state, keep=True)
            self._dispatch(state.conn, bytes(state.framing.data))
        elif isinstance(verdict, Refusal):
            self._stop_reading(state)
            self._refuse(state.conn.sock, verdict)
        elif verdict == MORE and state.framing.expects_continue and state.framing.body_pending and not state.continued:
            state.continued = True  # the client waits for this before it sends the body (RFC 9110 §10.1.1)
            _send(state.conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")

    def _stop_reading(self, state: _Reading, keep: bool = False) -> None:
        """``keep``: the bytes go on to a thread and stay counted until its answer is finished."""
        state.done = True
        if keep:
            self.held[state.conn] = len(state.framing.data)
        else:
            self.buffered -= len(state.framing.data)
        try:
            self.poller.unregister(state.conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _dispatch(self, conn: TConn, data: bytes) -> None:
        """Hand a connection to a thread with its complete request (and anything pipelined) buffered."""
        conn.init()  # plain HTTP/1.x: only creates the parser (or keeps a kept-alive connection's)
        conn.parser.unreader.unread(data)
        conn.data_ready = True
        self.enqueue_req(conn)

    # ---- after the answer ----------------------------------------------------------------------

    def finish_request(self, conn: TConn, fs: Any) -> None:
        """As gthread's, but the next request is read here too, and closing never blocks the loop."""
        self.buffered -= self.held.pop(conn, 0)
        try:
            keep = fs.result() is True if not fs.cancelled() else False
        except Exception:
            keep = False
        if not keep:
            self._close(conn.sock)
            return
        try:
            conn.sock.setblocking(False)
            ahead = conn.parser.unreader.take_buffered()
        except OSError:
            self._close(conn.sock)
            return
        if ahead:  # pipelined: the next request has begun
            self._read_request(conn, ahead)
            return
        conn.set_timeout()
        if not self.alive:
            conn.timeout = min(conn.timeout, time.monotonic() + 2.0)
        self.keepalived_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))

    def _refuse(self, sock: socket.socket, refusal: Refusal, headers: dict[str, str] | None = None) -> None:
        """Answer from the event loop (a few hundred bytes: the socket buffer takes them) and close."""
        _send(sock, _answer(refusal, headers))
        self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        """Half-close, then wait for the client's FIN in the loop (bounded), so our last bytes are not reset."""
        try:
            sock.setblocking(False)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._release(sock)
            return
        state = _Closing(sock, time.monotonic() + LINGER)
        self.closing.append(state)
        try:
            self.poller.register(sock, selectors.EVENT_READ, partial(self._on_closing_readable, state))
        except (KeyError, ValueError, OSError):
            state.done = True
            self._release(sock)

    def _on_closing_readable(self, state: _Closing, sock: socket.socket) -> None:
        data = _receive(sock)
        if data is None:
            return
        state.drained += len(data)
        if not data or state.drained > LINGER_BYTES:
            self._end_closing(state)

    def _end_closing(self, state: _Closing) -> None:
        state.done = True
        try:
            self.poller.unregister(state.sock)
        except (KeyError, ValueError, OSError):
            pass
        self._release(state.sock)

    def _release(self, sock: socket.socket) -> None:
        self.nr_conns -= 1
        try:
            sock.close()
        except OSError:
            pass

    # ---- deadlines -----------------------------------------------------------------------------

    def murder_keepalived(self, force: bool = False) -> None:
        """gthread calls this after every turn of its loop: expire idle, slow and closing connections."""
        super().murder_keepalived(force)
        self._make_room()
        now = time.monotonic()
        while self.reading and (self.reading[0].done or force or self.reading[0].deadline <= now):
            state = self.reading.popleft()
            if state.done:
                continue
            self._stop_reading(state)
            if state.framing.started:
                self._refuse(state.conn.sock, Refusal(408, f"the request did not arrive completely within "
                                                           f"{self.limits.request_timeout:g} s; send the whole "
                                                           f"request at once."))
            else:
                self._close(state.conn.sock)
        while self.closing and (self.closing[0].done or force or self.closing[0].deadline <= now):
            state = self.closing.popleft()
            if not state.done:
                self._end_closing(state)


    def _make_room(self) -> None:
        """At ``worker_connections`` gthread stops accepting: drop the oldest unfinished requests instead.

        Otherwise enough slow clients (a thousand per worker) would fill every slot and leave new
        clients waiting in the kernel's queue; a connection that has not finished its request is the
        one that may go, with a 408 and no linger.
        """
        if self.nr_conns < self.worker_connections:
            return
        target = self.worker_connections - max(8, self.worker_connections // 10)  # room for a burst, not one
        while self.nr_conns > target and self.reading:
            state = self.reading.popleft()
            if state.done:
                continue
            self._stop_reading(state)
            if state.framing.started:
                _send(state.conn.sock, _answer(Refusal(408, "the server needed this connection for a client that "
                                                            "sent its request at once; send yours at once too.")))
            self._release(state.conn.sock)


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


def _answer(refusal: Refusal, headers: dict[str, str] | None = None) -> bytes:
    """A complete plain-text HTTP/1.1 answer that closes the connection."""
    body = error_text(refusal.status, refusal.message).encode()
    lines = [f"HTTP/1.1 {refusal.status} {HTTP_STATUS_CODES.get(refusal.status, 'Error')}",
             "Content-Type: text/plain; charset=utf-8", f"Content-Length: {len(body)}", "Connection: close",
             "Access-Control-Allow-Origin: *", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _send(sock: socket.socket, data: bytes) -> None:
    """Best effort, non-blocking: a client that does not read a short answer does not get it."""
    try:
        sock.send(data)
    except OSError:
        pass


def limits_of(config: ServiceConfig) -> Limits:
    """The worker's read limits, from the settings table."""
    return Limits(request_timeout=config.request_timeout, max_head=config.max_head_bytes, max_body=MAX_BODY,
                  buffer_bytes=config.request_buffer_mib * 2**20, send_timeout=config.send_timeout)


def _receive(sock: socket.socket) -> bytes | None:
    """What a readable non-blocking socket holds: ``None`` if nothing after all (a spurious wake-up),
    ``b""`` when the peer closed or the connection failed (both end the connection alike)."""
    try:
        return sock.recv(RECV_SIZE)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""
