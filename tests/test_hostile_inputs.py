"""Issue 8, class 6 (the HTTP part): bad input found by the fuzzer gets a 4xx with a message, never a 500."""
from __future__ import annotations

import time
import urllib.parse

import pytest

from tests.conftest import start_server
from tests.hostile_support import connect, read_until_closed

pytestmark = pytest.mark.hostile

SPARQL_POST = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\nConnection: close\r\n"


@pytest.fixture(scope="module")
def server():
    with start_server("--workers", "1", "--threads", "2", "--request-timeout", "2") as url:
        yield url


def _send(url: str, data: bytes) -> bytes:
    sock = connect(url)
    sock.sendall(data)
    answer, _ = read_until_closed(sock, 6)
    sock.close()
    return answer


@pytest.mark.parametrize("page", ["%C2%B2", "%D9%A1", "%EF%BC%91", "9" * 5000, "0", "-1", "1.5", "", "%E2%85%A7"])
def test_a_page_that_is_not_ascii_digits_is_a_400_naming_it(server, page):
    answer = _send(server, b"GET /competency/?page=" + page.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"page must be a whole number from 1" in answer


@pytest.mark.parametrize("body, words", [
    (b"zz\r\nASK {}\r\n0\r\n\r\n", b"not a chunk size"),
    (b"3\r\nASK {}\r\n0\r\n\r\n", b"not followed by CRLF"),
    (b"-5\r\nASK {}\r\n0\r\n\r\n", b"not a chunk size"),
])
def test_a_malformed_chunked_body_is_a_400_saying_what_is_wrong(server, body, words):
    answer = _send(server, SPARQL_POST + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"malformed chunked body" in answer and words in answer
    assert b"text/plain" in answer


def test_a_well_formed_chunked_body_is_served(server):
    answer = _send(server, SPARQL_POST + b"Transfer-Encoding: chunked\r\n\r\n4\r\nASK \r\n2\r\n{}\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


@pytest.mark.parametrize("header, status, words", [
    (b"Transfer-Encoding: gzip", b"400", b"chunked"),
    (b"Content-Length: abc", b"400", b"Content-Length"),
    (b"Content-Length: 5\r\nContent-Length: 6", b"400", b"Content-Length"),
    (b"Content-Length: 99999999999", b"413", b"at most 1,000,000"),
])
def test_framing_the_server_cannot_use_is_refused_with_a_message(server, header, status, words):
    answer = _send(server, SPARQL_POST + header + b"\r\n\r\nASK {}")
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:200]
    assert words in answer.split(b"\r\n\r\n", 1)[1]


def test_a_body_shorter_than_its_content_length_gets_408_after_the_limit(server):
    answer = _send(server, SPARQL_POST + b"Content-Length: 10\r\n\r\nASK")
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"within 2 s" in answer


def test_a_client_that_expects_100_continue_gets_it_before_sending_its_body(server):
    """curl sends ``Expect: 100-continue`` for bodies over 1 KB and waits for it; the event loop answers it."""
    query = b"ASK { ?s ?p ?o }"
    sock = connect(server)
    sock.sendall(SPARQL_POST + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(query))
    sock.settimeout(2)
    assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    sock.sendall(query)
    answer, _ = read_until_closed(sock, 5)
    sock.close()
    assert b"HTTP/1.1 200 " in answer


def test_unfinished_requests_past_the_buffer_limit_get_503_with_retry_after():
    """Bodies still arriving are held in memory: past CKG_REQUEST_BUFFER_MIB a worker refuses new bytes."""
    with start_server("--workers", "1", "--threads", "2", "--request-buffer-mib", "1") as url:
        socks, answers = [], []
        for _ in range(3):
            sock = connect(url)
            sock.sendall(SPARQL_POST + b"Content-Length: 900000\r\n\r\n" + b"#" * 400_000)
            socks.append(sock)
        for sock in socks:
            answer, _ = read_until_closed(sock, 3)
            answers.append(answer)
            sock.close()
        refused = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
        assert len(refused) == 1 and b"Retry-After: 1" in refused[0], [a[:60] for a in answers]
        assert all(a == b"" or a.startswith(b"HTTP/1.1 503 ") for a in answers)


def test_complete_requests_waiting_for_a_thread_count_against_the_buffer_limit():
    """Read ahead of the threads, complete bodies would otherwise queue in memory without bound."""
    runaway = urllib.parse.quote("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
    with start_server("--workers", "1", "--threads", "1", "--request-buffer-mib", "1", "--query-timeout", "3") as url:
        busy = connect(url)  # holds the one thread for 3 s
        busy.sendall(b"GET /sparql?query=" + runaway.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        time.sleep(0.5)
        body = b"ASK {}" + b" " * 399_994
        queued = []
        for _ in range(3):
            sock = connect(url)
            sock.sendall(SPARQL_POST + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            queued.append(sock)
        answers = [read_until_closed(sock, 8)[0] for sock in queued]
        for sock in queued + [busy]:
            sock.close()
    statuses = sorted(answer[9:12] for answer in answers)
    assert statuses == [b"200", b"200", b"503"], [a[:80] for a in answers]
