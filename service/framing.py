"""Where an HTTP/1.1 request ends, decided from the bytes received so far, without any I/O.

The worker (:mod:`service.worker`) reads each request in its event loop and hands it to a request
thread only once it is complete, so a client that trickles its head or body holds a socket and a
few bytes, never a thread. This module is the part of that which needs no socket: it is fed bytes
as they arrive and says "more", "complete" or "refused (status, why)". Keeping it I/O-free keeps
it testable byte by byte, as Flask keeps its ``sansio`` logic apart from WSGI.

It decides only *framing* (RFC 9112 §6.3: where the message ends) and refuses only what makes
framing impossible or too large. Everything else — a bad request line, a bad header name —
is left to gunicorn's parser, which answers it when the thread reads the (complete) request; so
"complete" errs towards handing over early: gunicorn then refuses with what it already holds
and never waits on the socket.

Work per byte is constant: the head is searched only from where the last search stopped, and
the chunked body is walked once, so a client sending one byte at a time costs linear time.
"""
from __future__ import annotations

from dataclasses import dataclass

HEAD_END = b"\r\n\r\n"
CHUNK_LINE_LIMIT = 4096
"""Longest chunk-size line (with extensions) or trailer line accepted, in bytes."""


@dataclass(frozen=True)
class Refusal:
    """An answer the event loop sends itself, then closes: the request cannot be framed or is too large."""

    status: int
    message: str


MORE = "more"
COMPLETE = "complete"


def _bare_lf(data: bytearray, begin: int) -> bool:
    """Whether a LF at or after ``begin`` lacks its CR."""
    at = data.find(b"\n", begin)
    while at >= 0:
        if at == 0 or data[at - 1] != 0x0D:
            return True
        at = data.find(b"\n", at + 1)
    return False


class Framing:
    """One request's bytes, fed as they arrive; :meth:`feed` returns MORE, COMPLETE or a :class:`Refusal`.

    ``data`` holds every byte fed (the request, and anything pipelined after it); ``end`` is where
    the request ends once COMPLETE.
    """

    def __init__(self, max_head: int, max_body: int) -> None:
        self.max_head = max_head
        self.max_body = max_body
        self.data = bytearray()
        self.end: int | None = None
        self.expects_continue = False
        """The client waits for ``100 Continue`` before sending its body (``Expect: 100-continue``)."""
        self._head_end: int | None = None
        self._searched = 0
        self._start = 0  # after the empty lines a client may send before its request line
        self._length: int | None = None  # Content-Length framing
        self._chunked = False
        self._pos = 0  # chunked: where the next chunk-size line (or trailer line) starts
        self._chunk_left = 0  # chunked: data bytes (plus CRLF) of the current chunk still to come
        self._in_trailer = False
        self._body = 0  # chunked: data bytes seen

    @property
    def started(self) -> bool:
        """Whether any byte of a request has arrived (an idle connection is closed, a started request gets 408)."""
        return bool(self.data.strip(b"\r\n"))

    @property
    def body_pending(self) -> bool:
        """The head is complete and the body has not fully arrived."""
        return self._head_end is not None and self.end is None

    def feed(self, chunk: bytes) -> str | Refusal:
        self.data += chunk
        if self.end is not None:
            return COMPLETE
        if self._head_end is None:
            verdict = self._find_head()
            if verdict is not None:
                return verdict
        if self._chunked:
            return self._walk_chunks()
        assert self._length is not None
        if len(self.data) - self._head_end >= self._length:
            self.end = self._head_end + self._length
            return COMPLETE
        return MORE

    # ---- the head --------------------------------------------------------------------------------

    def _find_head(self) -> str | Refusal | None:
        """None once the head is complete and framing is known; else the verdict to return."""
        start = self._start
        while self.data.startswith(b"\r\n", start):  # empty lines before a request are ignored (RFC 9112 §2.2)
            start += 2
        self._start = start
        begin = max(start, self._searched - 3)
        found = self.data.find(HEAD_END, begin)
        if found < 0:
            if _bare_lf(self.data, begin):
                # A line ending in a bare LF never ends the head as gunicorn reads it: hand it over now,
                # and gunicorn refuses it (400) with what it holds.
                self.end = len(self.data)
                return COMPLETE
            self._searched = len(self.data)
            if len(self.data) > self.max_head:
                return Refusal(431, f"the request head (request line and headers) is longer than "
                                    f"{self.max_head:,} bytes.")
            return MORE
        self._head_end = found + len(HEAD_END)
        if self._head_end > self.max_head:
            return Refusal(431, f"the request head (request line and headers) is longer than {self.max_head:,} bytes.")
        return self._framing(bytes(self.data[start:found]))

    def _framing(self, head: bytes) -> str | Refusal | None:
        lengths: list[bytes] = []
        codings: list[bytes] = []
        lines = head.split(b"\r\n")
        http10 = lines[0].rstrip().endswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                continue
            name = name.strip().lower()
            if name == b"content-length":
                lengths.extend(v.strip() for v in value.split(b","))
            elif name == b"transfer-encoding":
                codings.extend(v.strip().lower() for v in value.split(b",") if v.strip())
            elif name == b"expect" and value.strip().lower() == b"100-continue" and not http10:
                self.expects_continue = True
        if codings:
            if codings != [b"chunked"]:
                shown = b", ".join(codings).decode("latin-1")
                return Refusal(400, f"Transfer-Encoding {shown!r} is not accepted; send the body as it is (with "
                                    f"Content-Length) or with Transfer-Encoding: chunked alone.")
            self._chunked = True
            self._pos = self._head_end
            return None
        if not lengths:
            self.end = self._head_end  # no body (RFC 9112 §6.3, rule 7)
            return COMPLETE
        if any(not v.isdigit() or not v.isascii() for v in lengths) or len(set(lengths)) > 1:
            shown = b", ".join(lengths).decode("latin-1")
            return Refusal(400, f"Content-Length must be one whole number of bytes, not {shown!r}.")
        if len(lengths[0]) > 15 or int(lengths[0]) > self.max_body:
            return Refusal(413, f"the request body is {int(lengths[0]):,} bytes; at most {self.max_body:,} are "
                                f"accepted.")
        self._length = int(lengths[0])
        return None

    # ---- a chunked body ------------------------------------------------------------------------

    def _walk_chunks(self) -> str | Refusal:
        data = self.data
        while True:
            if self._chunk_left:
                available = len(data) - self._pos
                if available < self._chunk_left:
                    return MORE
                self._pos += self._chunk_left
                self._chunk_left = 0
                if data[self._pos - 2:self._pos] != b"\r\n":
                    return Refusal(400, "malformed chunked body: a chunk's data is not followed by CRLF "
                                        "(its size line says how many bytes follow).")
            eol = data.find(b"\r\n", self._pos)
            if eol < 0:
                if len(data) - self._pos > CHUNK_LINE_LIMIT:
                    return Refusal(400, f"malformed chunked body: a chunk-size or trailer line is longer than "
                                        f"{CHUNK_LINE_LIMIT:,} bytes.")
                return MORE
            line = bytes(data[self._pos:eol])
            self._pos = eol + 2
            if self._in_trailer:
                if not line:
                    self.end = self._pos
                    return COMPLETE
                continue
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 15 or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                shown = line[:40].decode("latin-1")
                return Refusal(400, f"malformed chunked body: {shown!r} is not a chunk size (hexadecimal digits).")
            size = int(size_text, 16)
            if size == 0:
                self._in_trailer = True
                continue
            self._body += size
            if self._body > self.max_body:
                return Refusal(413, f"the request body is larger than the {self.max_body:,} bytes accepted.")
            self._chunk_left = size + 2
