"""Issue 8, class 4: slow and idle clients are timed out without holding the threads that serve everyone else.

One real ``ckg serve`` (2 workers x 4 threads: 8 request threads) meets 32 slow connections at once —
16 trickling a body after its ``Content-Length``, 8 trickling headers, 8 that send nothing — and 4
kept-alive connections that go idle. While they stay, plain GETs must answer within 1 s; each slow
one must get its 408 (or, having sent nothing, a close) within the request time limit plus the
worker's one-second deadline check; idle kept-alive connections are closed after the keep-alive
limit; and then the server's processes must be back to idle.
"""
from __future__ import annotations

import re
import threading
import time
import socket
import urllib.parse
import urllib.request

import pytest

from tests.conftest import start_server
from tests.hostile_support import connect, cpu_share, read_until_closed

pytestmark = pytest.mark.hostile

REQUEST_TIMEOUT = 3.0
KEEPALIVE = 2
SLACK = 1.5
"""The worker checks deadlines once a second (gthread's loop), plus scheduling."""
PLAIN_GET = "competency/klantgerichtheid"


@pytest.fixture(scope="module")
def server():
    with start_server("--workers", "2", "--threads", "4", "--request-timeout", str(REQUEST_TIMEOUT),
                      "--keepalive", str(KEEPALIVE)) as url:
        yield url


def _trickle(socks, stop: threading.Event) -> None:
    """One byte to every slow socket every 0.2 s: each always looks alive, none ever finishes."""
    while not stop.is_set():
        for sock in socks:
            try:
                sock.send(b"a")
            except OSError:
                pass
        stop.wait(0.2)


def test_slow_and_idle_clients_hold_no_thread_and_are_timed_out(server):
    body_tricklers, head_tricklers, silent = [], [], []
    opened = time.monotonic()
    for _ in range(16):
        sock = connect(server)
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                     b"Content-Length: 100000\r\n\r\nASK {")
        body_tricklers.append(sock)
    for _ in range(8):
        sock = connect(server)
        sock.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        head_tricklers.append(sock)
    for _ in range(8):
        silent.append(connect(server))
    stop = threading.Event()
    trickler = threading.Thread(target=_trickle, args=(body_tricklers + head_tricklers, stop), daemon=True)
    trickler.start()
    try:
        for _ in range(5):  # while every slow client is still connected (the first 408 comes at 3 s)
            started = time.monotonic()
            with urllib.request.urlopen(server + PLAIN_GET, timeout=5) as response:
                assert response.status == 200 and response.read()
            assert time.monotonic() - started < 1.0
            time.sleep(0.3)
        assert time.monotonic() - opened < REQUEST_TIMEOUT, "the GETs must have run while the slow clients were on"

        limit = REQUEST_TIMEOUT + SLACK
        for sock in body_tricklers + head_tricklers:
            answer, closed_at = read_until_closed(sock, limit + 2)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
            assert b"within 3 s" in answer
            assert closed_at - opened < limit
        for sock in silent:
            answer, closed_at = read_until_closed(sock, limit + 2)
            assert answer == b"" and closed_at - opened < limit
    finally:
        stop.set()
        trickler.join()
        for sock in body_tricklers + head_tricklers + silent:
            sock.close()
    assert cpu_share(server.pid) < 0.1


def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive_limit(server):
    socks = [connect(server) for _ in range(4)]
    for sock in socks:
        sock.sendall(b"GET /" + PLAIN_GET.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    answered = time.monotonic()
    for sock in socks:
        answer, closed_at = read_until_closed(sock, KEEPALIVE + SLACK + 2)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"Connection: close" not in answer
        assert KEEPALIVE - 0.5 < closed_at - answered < KEEPALIVE + SLACK
        sock.close()


def test_a_request_sent_in_pieces_within_the_limit_is_served(server):
    """Slow but in time is fine: the deadline bounds the whole request, it does not punish a pause."""
    sock = connect(server)
    query = b"ASK { ?s ?p ?o }"
    sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n")
    time.sleep(1)
    sock.sendall(b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(query) + query[:5])
    time.sleep(1)
    sock.sendall(query[5:])
    answer, _ = read_until_closed(sock, 5)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"boolean": true' in answer.replace(b'":true', b'": true')


def test_pipelined_requests_are_all_answered_in_order(server):
    sock = connect(server)
    sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /competency/?page=2x HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /" + PLAIN_GET.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer, _ = read_until_closed(sock, 5)
    sock.close()
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)  # a body need not end in a newline
    assert statuses == [b"200", b"400", b"200"]


def test_when_slow_clients_fill_a_worker_the_oldest_make_room():
    """At CKG_MAX_CONNECTIONS a worker would stop accepting; unfinished requests give way to new clients."""
    with start_server("--workers", "1", "--threads", "2", "--max-connections", "20") as url:
        slow = []
        for _ in range(40):
            sock = connect(url)
            sock.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        try:
            for _ in range(3):
                started = time.monotonic()
                with urllib.request.urlopen(url + PLAIN_GET, timeout=5) as response:
                    assert response.status == 200
                assert time.monotonic() - started < 2.5  # the worker makes room once per turn of its loop (1 s)
            dropped = 0
            for sock in slow[:10]:  # the oldest went first
                answer, _ = read_until_closed(sock, 0.5)
                dropped += answer.startswith(b"HTTP/1.1 408 ")
            assert dropped == 10
        finally:
            for sock in slow:
                sock.close()


def test_a_client_that_stops_reading_its_answer_frees_the_thread_after_the_send_timeout():
    """One request thread; a client asks for a 5 MB answer and reads none of it. The next client waits at
    most CKG_SEND_TIMEOUT (then the stalled send gives up), not for as long as the reader stays."""
    big = urllib.parse.quote("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 10000")
    with start_server("--workers", "1", "--threads", "1", "--send-timeout", "2") as url:
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", int(url.rstrip("/").rsplit(":", 1)[1])))
        try:
            stalled.sendall(b"GET /sparql?query=" + big.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                            b"Accept: application/sparql-results+json\r\n\r\n")
            time.sleep(1.5)  # the answer is being written and stalls
            started = time.monotonic()
            with urllib.request.urlopen(url + PLAIN_GET, timeout=10) as response:
                assert response.status == 200
            assert time.monotonic() - started < 2 * 2 + SLACK  # a send that made some progress waits once more
        finally:
            stalled.close()
