"""The engine connection (``service.engine_wire``) read against a raw local server that answers with canned
bytes: every way an HTTP/1.1 answer may frame its body, keep-alive and its end, and answers that are not
HTTP, which must become a 502 with a sentence (never a 500, never a hang)."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from service.engine import AnswerTooLarge, Engine, EngineError


class CannedServer:
    """Accepts connections on 127.0.0.1; for each request read, sends the next canned answer of ``script``.

    ``script`` is a list of connections, each a list of answers (bytes); after its answers a connection is
    closed, so a client that keeps it alive finds it closed on its next request."""

    def __init__(self, script: list[list[bytes]]):
        self.script = script
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for answers in self.script:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                for answer in answers:
                    request = _read_request(connection)
                    if request is None:  # the client closed this connection: on to the next
                        break
                    self.requests.append(request)
                    connection.sendall(answer)

    def close(self) -> None:
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        received = connection.recv(65536)
        if not received:
            return None
        data += received
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture()
def serve() -> Iterator:
    servers = []

    def start(*connections: list[bytes]) -> Engine:
        server = CannedServer(list(connections))
        servers.append(server)
        engine = Engine(f"http://127.0.0.1:{server.port}/sparql", timeout=5)
        engine.server = server  # type: ignore[attr-defined]  (what it received, for the tests)
        return engine

    yield start
    for server in servers:
        server.close()


ROWS = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"one"}}]}}'


def _answer(body: bytes, *headers: str, status: str = "200 OK", version: str = "HTTP/1.1") -> bytes:
    head = f"{version} {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    return head.encode() + body


def _chunked(body: bytes, size: int, trailers: str = "") -> bytes:
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailers.encode() + b"\r\n"


FRAMINGS = [
    (_answer(ROWS, f"Content-Length: {len(ROWS)}"), True),
    (_answer(_chunked(ROWS, 7), "Transfer-Encoding: chunked"), True),
    (_answer(_chunked(ROWS, 1000, "X-Checksum: abc\r\n"), "Transfer-Encoding: chunked"), True),
    (_answer(ROWS, "Connection: close"), False),  # no length: the body runs to the end of the connection
    (_answer(ROWS, f"Content-Length: {len(ROWS)}", version="HTTP/1.0"), False),
    (_answer(ROWS, f"Content-Length: {len(ROWS)}", "Connection: keep-alive", version="HTTP/1.0"), True),
    (b"HTTP/1.1 100 Continue\r\n\r\n" + _answer(ROWS, f"Content-Length: {len(ROWS)}"), True),
]


@pytest.mark.parametrize("answer, kept", FRAMINGS)
def test_every_framing_of_an_answer_is_read_whole_and_leaves_the_connection_clean(serve, answer: bytes, kept: bool) -> None:
    """Twice: the second request must find the connection exactly at the end of the first answer (kept
    alive), or open a new one when the answer said it ends the connection (the server then has one
    connection per answer; a client that reused the closed one would fail)."""
    engine = serve([answer, answer]) if kept else serve([answer], [answer])
    for _ in range(2):
        assert engine.select("SELECT ?x WHERE {}")[0]["x"].value == "one"
    assert len(engine.server.requests) == 2


@pytest.mark.parametrize("answer, kept", FRAMINGS)
def test_every_framing_is_read_the_same_against_a_deadline_and_a_bound(serve, answer: bytes, kept: bool) -> None:
    """What the SPARQL endpoint reads (``Engine.exchange`` with a deadline and a byte bound): the same body, the
    answer's headers, the connection left clean; one byte under the body's length is refused, not cut."""
    engine = serve([answer, answer]) if kept else serve([answer], [answer])
    for _ in range(2):
        found = engine.exchange({"query": "SELECT ?x WHERE {}"}, "application/sparql-results+json",
                                deadline=time.monotonic() + 10, limit=len(ROWS))
        assert (found.status, found.body) == (200, ROWS)
    assert len(engine.server.requests) == 2
    with pytest.raises(AnswerTooLarge):
        serve([answer]).exchange({"query": "SELECT ?x WHERE {}"}, "application/sparql-results+json",
                                 deadline=time.monotonic() + 10, limit=len(ROWS) - 1)


def test_a_kept_alive_connection_is_reused_and_a_closed_one_reopened(serve) -> None:
    framed = _answer(ROWS, f"Content-Length: {len(ROWS)}")
    engine = serve([framed, framed], [framed])
    for _ in range(3):  # two on the first connection; the third finds it closed and retries on a new one
        assert engine.select("SELECT ?x WHERE {}")[0]["x"].value == "one"


def test_the_request_is_one_well_formed_form_post(serve) -> None:
    engine = serve([_answer(ROWS, f"Content-Length: {len(ROWS)}")])
    engine.graph = "urn:g"
    engine.select("SELECT ?x WHERE { ?x ?p 'é' }")
    head, _, body = engine.server.requests[-1].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /sparql HTTP/1.1"
    assert f"Host: 127.0.0.1:{engine.server.port}".encode() in lines
    assert b"Content-Type: application/x-www-form-urlencoded" in lines
    assert b"Accept-Encoding: identity" in lines  # without it any coding is acceptable, and gzip is not read
    assert f"Content-Length: {len(body)}".encode() in lines
    assert body == b"query=SELECT+?x+WHERE+{+?x+?p+'%C3%A9'+}&default-graph-uri=urn:g"  # service.engine.form_encode


@pytest.mark.parametrize("answer, says", [
    (b"SPARQL says hello\r\n\r\n", "did not answer in HTTP"),
    (_answer(b"0123", "Content-Length: 10"), "did not answer in HTTP"),  # cut short, then closed
    (_answer(b"5\r\nabc", "Transfer-Encoding: chunked"), "did not answer in HTTP"),
    (_answer(b"zz\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked"), "did not answer in HTTP"),
    (_answer(b"", *[f"X-{n}: y" for n in range(300)]), "did not answer in HTTP"),
    (_answer(b"", "Content-Length: -1"), "did not answer in HTTP"),
    (_answer(b"busy", "Content-Length: 4", status="503 Service Unavailable"), "answered 503"),
    (_answer(b"no such graph", "Content-Length: 13", status="400 Bad Request"), "answered 400 Bad Request: no such graph"),
])
def test_an_answer_that_is_not_a_good_one_becomes_a_502_or_503_with_a_sentence(serve, answer: bytes, says: str) -> None:
    engine = serve([answer])
    with pytest.raises(EngineError) as raised:
        engine.select("SELECT ?x WHERE {}")
    assert raised.value.status in (502, 503) and says in raised.value.message


def test_an_engine_that_closes_twice_is_a_502(serve) -> None:
    engine = serve([], [])  # accepts, then closes without answering, twice
    with pytest.raises(EngineError) as raised:
        engine.select("SELECT ?x WHERE {}")
    assert raised.value.status == 502 and "closed the connection" in raised.value.message


def test_an_engine_that_never_answers_is_a_504_within_the_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        engine = Engine(f"http://127.0.0.1:{listener.getsockname()[1]}/sparql", timeout=0.5)
        with pytest.raises(EngineError) as raised:
            engine.select("SELECT ?x WHERE {}")
        assert raised.value.status == 504
    finally:
        listener.close()



def test_an_engine_dribbling_header_lines_is_cut_at_the_deadline() -> None:
    """A header line now and then, each well within the per-read timeout, must not hold the request past its
    deadline (the SPARQL endpoint's time limit): each line waits only for the time left."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def dribble() -> None:
        connection, _ = listener.accept()
        with connection:
            _read_request(connection)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            for n in range(40):  # 6 s of headers if nobody stops listening
                if stop.wait(0.15):
                    return
                try:
                    connection.sendall(b"X-Line-%d: still coming\r\n" % n)
                except OSError:
                    return

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        engine = Engine(f"http://127.0.0.1:{listener.getsockname()[1]}/sparql", timeout=5)
        started = time.monotonic()
        with pytest.raises(EngineError) as raised:
            engine.exchange({"query": "ASK {}"}, "application/sparql-results+json", deadline=started + 0.6)
        assert raised.value.status == 504
        assert time.monotonic() - started < 2, "the header lines held the request past its deadline"
    finally:
        stop.set()
        listener.close()
        thread.join(5)

@pytest.mark.parametrize("url, env, says", [
    ("http://127.0.0.1:1/spar ql", {}, "%-escapes"),
    ("http://127.0.0.1:1/spärql", {}, "%-escapes"),
    ("http://127.0.0.1:1/sparql", {"CKG_STORE_TOKEN": "abc\r\nX-Evil: 1"}, "printable ASCII"),
    ("http://127.0.0.1:1/sparql", {"CKG_STORE_TOKEN": "jeton-é"}, "printable ASCII"),
])
def test_what_cannot_go_into_a_request_head_is_refused_at_start(url: str, env: dict, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Engine(url, env=env)


def test_a_connection_idle_too_long_is_replaced_not_reused(serve) -> None:
    """Oxigraph server answers a request on a connection idle for about a minute with a 500 (its read
    timeout); here the first connection does the same on its second request."""
    framed = _answer(ROWS, f"Content-Length: {len(ROWS)}")
    stale = _answer(b"Resource temporarily unavailable (os error 11)", "Content-Length: 46",
                    status="500 Internal Server Error")
    engine = serve([framed, stale], [framed])
    engine.select("SELECT ?x WHERE {}")
    engine._connection().idle_limit = 0.05
    time.sleep(0.1)
    assert engine.select("SELECT ?x WHERE {}")[0]["x"].value == "one"
