"""Where a request ends (service.framing): the worker hands a request to a thread only when this says COMPLETE."""
from __future__ import annotations

import pytest

from service.framing import COMPLETE, MORE, Framing, Refusal

HEAD = b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"


def framing(max_head: int = 65_536, max_body: int = 1_000_000) -> Framing:
    return Framing(max_head, max_body)


def feed_bytewise(data: bytes, f: Framing | None = None) -> list:
    """Every verdict, feeding one byte at a time (how a trickling client sends)."""
    f = f or framing()
    return [f.feed(data[i:i + 1]) for i in range(len(data))]


@pytest.mark.parametrize("request_bytes", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    HEAD + b"Content-Length: 9\r\n\r\nASK {   }",
    HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\nASK {\r\n4;ext=1\r\n   }\r\n0\r\nX-Trailer: y\r\n\r\n",
    b"\r\n" + HEAD + b"Content-Length: 0\r\n\r\n",
])
def test_complete_exactly_at_the_last_byte(request_bytes):
    verdicts = feed_bytewise(request_bytes)
    assert verdicts[:-1] == [MORE] * (len(request_bytes) - 1)
    assert verdicts[-1] == COMPLETE


def test_the_end_leaves_a_pipelined_request_out():
    first = HEAD + b"Content-Length: 3\r\n\r\nASK"
    f = framing()
    assert f.feed(first + b"GET / HTTP/1.1\r\n") == COMPLETE
    assert f.end == len(first)


def test_a_chunked_end_leaves_a_pipelined_request_out():
    first = HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nASK\r\n0\r\n\r\n"
    f = framing()
    assert f.feed(first + b"GET / HTTP/1.1\r\n") == COMPLETE
    assert f.end == len(first)


@pytest.mark.parametrize("body, words", [
    (b"zz\r\nabc\r\n0\r\n\r\n", "not a chunk size"),
    (b"-3\r\nabc\r\n0\r\n\r\n", "not a chunk size"),
    (b"\r\n", "not a chunk size"),
    (b"3\r\nabcdef\r\n0\r\n\r\n", "not followed by CRLF"),
    (b"1" * 5000, "longer than"),
])
def test_a_malformed_chunked_body_is_a_400(body, words):
    verdict = framing().feed(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert isinstance(verdict, Refusal) and verdict.status == 400 and words in verdict.message


@pytest.mark.parametrize("header", [b"Content-Length: abc", b"Content-Length: 1, 2", b"Content-Length: -1",
                                    b"Content-Length: \xc2\xb2", b"Content-Length: 3\r\nContent-Length: 4"])
def test_a_content_length_that_is_not_one_number_is_a_400(header):
    verdict = framing().feed(HEAD + header + b"\r\n\r\n")
    assert isinstance(verdict, Refusal) and verdict.status == 400 and "Content-Length" in verdict.message


@pytest.mark.parametrize("coding", [b"gzip", b"gzip, chunked", b"chunked, chunked", b"identity"])
def test_a_transfer_coding_other_than_chunked_is_a_400(coding):
    verdict = framing().feed(HEAD + b"Transfer-Encoding: " + coding + b"\r\n\r\n")
    assert isinstance(verdict, Refusal) and verdict.status == 400 and "chunked" in verdict.message


def test_a_body_too_large_is_refused_before_it_arrives():
    verdict = framing(max_body=100).feed(HEAD + b"Content-Length: 101\r\n\r\n")
    assert isinstance(verdict, Refusal) and verdict.status == 413
    assert framing(max_body=100).feed(HEAD + b"Content-Length: 100\r\n\r\n") == MORE
    assert framing().feed(HEAD + b"Content-Length: " + b"9" * 40 + b"\r\n\r\n").status == 413


def test_a_chunked_body_too_large_is_refused_as_it_arrives():
    f = framing(max_body=100)
    assert f.feed(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"40\r\n" + b"a" * 64 + b"\r\n") == MORE
    verdict = f.feed(b"40\r\n")
    assert isinstance(verdict, Refusal) and verdict.status == 413


def test_a_head_too_large_is_a_431_whether_or_not_it_ended():
    assert framing(max_head=100).feed(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 20).status == 431
    assert framing(max_head=100).feed(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 20 + b"\r\n").status == 431
    assert framing(max_head=100).feed(b"\r\n" * 60).status == 431


def test_a_bare_lf_is_handed_over_at_once_for_gunicorn_to_refuse():
    """gunicorn's parser never ends such a head; waiting for more would only end in a 408."""
    assert framing().feed(b"GET / HTTP/1.1\nHost: x\n") == COMPLETE


def test_expect_100_continue_is_noticed_once_the_head_is_in():
    f = framing()
    assert f.feed(HEAD + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n") == MORE
    assert f.expects_continue and f.body_pending
    assert f.feed(b"ASK") == COMPLETE and not f.body_pending


def test_an_idle_connection_has_not_started_a_request():
    f = framing()
    f.feed(b"\r\n")
    assert not f.started
    f.feed(b"G")
    assert f.started


def test_a_trickled_head_costs_linear_work():
    """Byte by byte, 60 KB of headers: every byte is looked at a bounded number of times."""
    f = framing()
    scanned = []

    class Counting(bytearray):
        def find(self, sub, start=0, *rest):
            scanned.append(len(self) - start)
            return bytearray.find(self, sub, start, *rest)

    f.data = Counting(f.data)
    head = b"GET / HTTP/1.1\r\n" + b"X-Padding: " + b"a" * 60_000 + b"\r\n\r\n"
    for i in range(len(head)):
        f.feed(head[i:i + 1])
    assert f.end == len(head)
    assert sum(scanned) < 10 * len(head)
