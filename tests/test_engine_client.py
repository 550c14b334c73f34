"""The engine client (``service.engine``): its own encoding of a query (what a form decoder reads from it must be
exactly the query, for every character a query can hold), and how it reads answers engines give in their own ways."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_to_bytes

import pytest

from markupsafe import escape
from pyoxigraph import RdfFormat, parse, serialize

from service.engine import Engine, EngineError, form_encode
from service.store_downloads import read_whole

QUERIES = [
    "SELECT * WHERE { ?s ?p ?o }",
    'SELECT * WHERE { ?s <https://w3id.org/competency-kg/def#statement> "Zorgt voor één + één & 100% = twee"@nl }',
    "ASK { <urn:x> ?p \"tab\there\nnewline ~ _ . - * ' ( ) ! ∑ 😀\" }",
    "".join(chr(c) for c in range(1, 512)),
    "",
]


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_is_form_encoded_so_a_decoder_reads_it_back_exactly(query: str) -> None:
    fields = {"query": query, "default-graph-uri": "urn:uuid:9f1c-aa#g/ x"}
    body = form_encode(fields)
    assert parse_qs(body.decode("ascii"), keep_blank_values=True) == {name: [value] for name, value in fields.items()}
    pairs = [pair.split(b"=", 1) for pair in body.split(b"&")]
    assert [(unquote_to_bytes(k), unquote_to_bytes(v.replace(b"+", b" "))) for k, v in pairs] == \
        [(name.encode(), value.encode("utf-8")) for name, value in fields.items()]  # one field per pair: "&", "=" escaped
    assert not set(body) - set(range(0x21, 0x7f)) and b";" not in body  # printable ASCII only; no ";" a parser might split on


class _CannedEngine(BaseHTTPRequestHandler):
    """Answers every POST with the class's ``answer`` bytes as SPARQL JSON results."""

    answer = b""
    protocol_version = "HTTP/1.1"  # keeps the connection open, as engines do

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def canned():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CannedEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


TABLE = '{"head":{"vars":["__ask_retval"]},"results":{"bindings":[%s]}}'


@pytest.mark.parametrize("answer, truth", [
    ('{"head":{},"boolean":true}', True), ('{"head":{},"boolean":false}', False),
    (TABLE % '{"__ask_retval":{"type":"typed-literal","datatype":"http://www.w3.org/2001/XMLSchema#integer","value":"1"}}', True),
    (TABLE % '{"__ask_retval":{"type":"typed-literal","datatype":"http://www.w3.org/2001/XMLSchema#integer","value":"0"}}', False),
    (TABLE % "", False),
])
def test_ask_reads_a_boolean_and_virtuosos_one_row_table(canned, answer: str, truth: bool) -> None:
    _CannedEngine.answer = answer.encode()
    engine = Engine(f"http://127.0.0.1:{canned.server_port}/sparql", "urn:g")
    assert engine.ask("ASK { ?s ?p ?o }") is truth


def test_an_ask_answered_with_something_else_is_a_502(canned) -> None:
    _CannedEngine.answer = b'{"head":{"vars":["x"]}}'
    with pytest.raises(EngineError) as raised:
        Engine(f"http://127.0.0.1:{canned.server_port}/sparql").ask("ASK {}")
    assert raised.value.status == 502 and "did not answer an ASK" in raised.value.message


def test_requests_leave_without_waiting_for_nagle(canned) -> None:
    _CannedEngine.answer = b'{"head":{},"boolean":true}'
    engine = Engine(f"http://127.0.0.1:{canned.server_port}/sparql")
    engine.ask("ASK {}")
    assert engine._connection().sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.parametrize("answer", [b"<html>Service Unavailable</html>", b"<urn:a> <urn:b> .\n", b'<urn:a> <urn:b> "x" \n'])
def test_a_construct_answered_with_something_else_than_n_triples_is_a_502(canned, answer: bytes) -> None:
    _CannedEngine.answer = answer
    with pytest.raises(EngineError) as raised:
        Engine(f"http://127.0.0.1:{canned.server_port}/sparql").construct("CONSTRUCT WHERE { ?s ?p ?o }")
    assert raised.value.status == 502 and "did not answer with N-Triples" in raised.value.message


def test_triples_read_leniently_cannot_break_out_of_what_we_write(canned) -> None:
    """IRIs are not validated again (module docstring), so an odd one from a graph loaded by other tools is
    kept as it is; the writers still escape it: one triple in, one triple out, no markup in the HTML."""
    _CannedEngine.answer = b'<urn:a"<script> <urn:p> "x<b>\\"</b>"@e .\n'
    found = Engine(f"http://127.0.0.1:{canned.server_port}/sparql").construct("CONSTRUCT WHERE { ?s ?p ?o }")
    assert [t.subject.value for t in found] == ['urn:a"<script']
    written = serialize(found, format=RdfFormat.N_TRIPLES)
    assert written.count(b"\n") == 1 and [t.subject.value for t in parse(written, RdfFormat.N_TRIPLES, lenient=True)] == \
        ['urn:a"<script']
    assert "<script" not in str(escape(found[0].subject.value))
    with pytest.raises(EngineError, match="did not answer with N-Triples"):  # a full read for files is checked whole
        Engine(f"http://127.0.0.1:{canned.server_port}/sparql").construct("CONSTRUCT WHERE { ?s ?p ?o }", lenient=False)


def test_the_full_read_that_becomes_the_downloads_is_checked_whole(canned) -> None:
    _CannedEngine.answer = b'<urn:a"<script> <urn:p> "x" .\n'
    with pytest.raises(EngineError, match="did not answer with N-Triples"):
        read_whole(Engine(f"http://127.0.0.1:{canned.server_port}/sparql"), "urn:")
