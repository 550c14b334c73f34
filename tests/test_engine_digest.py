"""Reading from an engine that demands HTTP Digest (RFC 7616), as Virtuoso's ``/sparql-auth`` does.

A canned local engine issues Digest challenges and checks every answer's hash itself (computed here
from the RFC's formulas, not with the client's code), each nonce's ``nc`` strictly increasing; it can
declare a nonce stale or forget it (a fresh 401). The page reader (``service.engine``) and the SPARQL
proxy (``service.sparql.upstream``, through the page reader's client) are both read against it, and once against a real
Virtuoso when it is installed: ``ckg serve --store .../sparql-auth`` with the account tests/engines.py
creates, compared with the anonymous ``/sparql``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest
from pyoxigraph import Literal

from service.engine import Engine, EngineError
from service.engine_auth import Digest, Login, challenges
from service.sparql.execute import Answer, Job
from service.sparql.safety import inspect_query
from service.sparql.upstream import Engine as Upstream

USER, PASSWORD, REALM, OPAQUE = "reader", "s3cret-Pa55", "SPARQL", "opaque-Value/1"
ROWS = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"one"}}]}}'
PATH = "/sparql-auth?tenant=a"
HASHES = {"MD5": "md5", "SHA-256": "sha256"}


def expected(algorithm: str, password: str, method: str, fields: dict[str, str]) -> str:
    """RFC 7616 section 3.4.1, written out for qop=auth: what the engine expects in ``response``."""
    def h(text: str) -> str:
        return hashlib.new(HASHES[algorithm], text.encode()).hexdigest()
    a1 = f"{USER}:{REALM}:{password}"
    a2 = f"{method}:{fields['uri']}"
    return h(f"{h(a1)}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{h(a2)}")


def authorization_fields(value: str) -> dict[str, str]:
    return {m[1]: m[3] if m[3] is not None else m[4] for m in re.finditer(r'(\w+)=("([^"]*)"|([^,\s]+))', value)}


class DigestEngine(BaseHTTPRequestHandler):
    """Demands Digest; the server object (``DigestServer``) holds the settings and what was seen."""

    protocol_version = "HTTP/1.1"
    server: "DigestServer"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        if len(server.seen) >= 50:  # a client answering challenges in a loop: make it fail, not hang the suite
            return self.send_error(500, "too many requests")
        value = self.headers.get("Authorization")
        seen = {"authorization": value, "client": self.client_address, "thread": threading.get_ident()}
        server.seen.append(seen)
        if server.algorithm == "Basic":
            if value == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode():
                return self._rows(seen)
            return self._challenge(seen, stale=False)
        if not value or not value.startswith("Digest "):
            return self._challenge(seen, stale=False)
        fields = authorization_fields(value[len("Digest "):])
        seen["fields"] = fields
        with server.lock:
            last = server.nonces.get(fields.get("nonce"))
            if last is None:
                return self._challenge(seen, stale=False)  # a nonce we never gave (or forgot): a fresh 401
            if last >= server.uses_per_nonce:  # spent: the client must take the new nonce, with nc from 1 again
                server.nonces.pop(fields["nonce"])
                return self._challenge(seen, stale=server.say_stale)
            good = (fields.get("username") == USER and fields.get("realm") == REALM and fields.get("uri") == self.path
                    and fields.get("algorithm") == server.algorithm and fields.get("opaque") == OPAQUE
                    and fields.get("qop") == "auth" and int(fields.get("nc", "0"), 16) > last
                    and fields.get("response") == expected(server.algorithm, PASSWORD, "POST", fields))
            if not good:
                return self._challenge(seen, stale=False)
            server.nonces[fields["nonce"]] = int(fields["nc"], 16)
        self._rows(seen)

    def _rows(self, seen: dict) -> None:
        seen["status"] = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(ROWS)))
        self.end_headers()
        self.wfile.write(ROWS)

    def _challenge(self, seen: dict, stale: bool) -> None:
        nonce = os.urandom(12).hex()
        with self.server.lock:
            self.server.nonces[nonce] = 0
        seen["status"] = 401
        body = b"Unauthorized"
        self.send_response(401)
        if self.server.basic_first:
            self.send_header("WWW-Authenticate", f'Basic realm="{REALM}"')
        if self.server.algorithm != "Basic":
            self.send_header("WWW-Authenticate", f'Digest realm="{REALM}", domain="/sparql-auth", nonce="{nonce}", '
                                                 f'opaque="{OPAQUE}", stale="{"true" if stale else "false"}", '
                                                 f'qop="auth", algorithm="{self.server.algorithm}"')
        if not self.server.basic_first:
            self.send_header("WWW-Authenticate", f'Basic realm="{REALM}"')  # offered too: Digest must be preferred
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DigestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, algorithm: str, uses_per_nonce: int = 1000, say_stale: bool = True, basic_first: bool = False):
        super().__init__(("127.0.0.1", 0), DigestEngine)
        self.algorithm, self.uses_per_nonce, self.say_stale = algorithm, uses_per_nonce, say_stale
        self.basic_first = basic_first
        self.nonces: dict[str, int] = {}
        self.seen: list[dict] = []
        self.lock = threading.RLock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}{PATH}"


@pytest.fixture()
def digest_server() -> Iterator:
    servers = []

    def start(algorithm: str = "MD5", **settings) -> DigestServer:
        server = DigestServer(algorithm, **settings)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def reader(server: DigestServer, password: str = PASSWORD, **env: str) -> Engine:
    return Engine(server.url, "urn:g", timeout=5, env={"CKG_STORE_USER": USER, "CKG_STORE_PASSWORD": password} | env)


@pytest.mark.parametrize("algorithm, basic_first", [("MD5", False), ("SHA-256", False), ("SHA-256", True)])
def test_digest_is_answered_and_its_nonce_reused_with_nc_counting_up(digest_server, algorithm: str,
                                                                     basic_first: bool) -> None:
    server = digest_server(algorithm, basic_first=basic_first)
    engine = reader(server)
    for _ in range(4):
        assert engine.select("SELECT ?x WHERE { ?x ?p ?o }") == [{"x": Literal("one")}]
    first, *answered = server.seen
    assert first["authorization"] is None and first["status"] == 401  # nothing is sent before the engine asks
    assert [seen["status"] for seen in answered] == [200] * 4  # one challenge, then every request answered at once
    assert len({seen["fields"]["nonce"] for seen in answered}) == 1
    assert [seen["fields"]["nc"] for seen in answered] == ["00000001", "00000002", "00000003", "00000004"]
    assert len({seen["fields"]["cnonce"] for seen in answered}) == 4
    assert len({seen["client"] for seen in server.seen}) == 1  # all on one kept-alive connection
    assert not any(PASSWORD in (seen["authorization"] or "") for seen in server.seen)
    assert PASSWORD not in repr(engine)


@pytest.mark.parametrize("say_stale", [True, False], ids=["stale", "fresh-401"])
def test_a_new_challenge_is_answered_once_with_the_new_nonce(digest_server, say_stale: bool) -> None:
    server = digest_server("SHA-256", uses_per_nonce=2, say_stale=say_stale)
    engine = reader(server)
    for _ in range(3):
        engine.select("SELECT ?x {}")
    statuses = [seen["status"] for seen in server.seen]
    assert statuses == [401, 200, 200, 401, 200]  # the third request: one 401, answered once, never a loop
    nonces = [seen["fields"]["nonce"] for seen in server.seen[1:] if seen["status"] == 200]
    assert nonces[0] == nonces[1] != nonces[2]
    assert server.seen[3]["fields"]["nc"] == "00000003" and server.seen[4]["fields"]["nc"] == "00000001"


def test_each_thread_answers_its_own_nonce(digest_server) -> None:
    """Each thread has its own connection and nonce, so its nc counts are in order for the engine."""
    server = digest_server()
    engine = reader(server)
    errors: list[Exception] = []

    def work() -> None:
        try:
            for _ in range(4):
                engine.select("SELECT ?x {}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            engine.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    answered = [seen for seen in server.seen if seen["status"] == 200]
    assert len(answered) == 12 and len({seen["fields"]["nonce"] for seen in answered}) == 3
    for nonce in {seen["fields"]["nonce"] for seen in answered}:
        assert sorted(seen["fields"]["nc"] for seen in answered if seen["fields"]["nonce"] == nonce) == \
            ["00000001", "00000002", "00000003", "00000004"]


def test_a_wrong_password_is_a_502_that_names_the_variables_and_never_the_password(digest_server) -> None:
    server = digest_server()
    with pytest.raises(EngineError) as raised:
        reader(server, password="wrong-" + PASSWORD).select("SELECT ?x {}")
    assert raised.value.status == 502
    assert "refused our credentials (HTTP 401)" in raised.value.message
    assert "CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN" in raised.value.message
    assert PASSWORD not in raised.value.message and USER not in raised.value.message
    assert [seen["status"] for seen in server.seen] == [401, 401]  # answered once, then given up


def test_no_credentials_says_none_are_set(digest_server) -> None:
    server = digest_server()
    with pytest.raises(EngineError) as raised:
        Engine(server.url, timeout=5, env={}).select("SELECT ?x {}")
    assert raised.value.status == 502 and "asks for credentials (HTTP 401) and none are set" in raised.value.message
    assert len(server.seen) == 1


def test_an_algorithm_this_client_does_not_speak_is_said_not_looped(digest_server) -> None:
    server = digest_server("SHA-512-256")
    with pytest.raises(EngineError) as raised:
        reader(server).select("SELECT ?x {}")
    assert raised.value.status == 502 and "algorithm SHA-512-256" in raised.value.message
    assert len(server.seen) == 1


@pytest.mark.parametrize("algorithm, response", [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_the_rfc_7616_examples(algorithm: str, response: str) -> None:
    """RFC 7616 section 3.9.1: the same request answered with MD5 and with SHA-256."""
    header = (f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
              f'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
    (scheme, params), = challenges([header])
    digest = Digest(Login("Mufasa", "Circle of Life"), params, cnonce=lambda: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
    fields = authorization_fields(digest.header("GET", "/dir/index.html", b"")[len("Digest "):])
    assert scheme == "digest" and fields["response"] == response
    assert fields["nc"] == "00000001" and fields["qop"] == "auth" and fields["opaque"] == params["opaque"]


def test_challenges_are_read_with_commas_and_quotes_inside_values() -> None:
    found = challenges(['Digest realm="a, b", nonce="x\\"y", stale=TRUE, Basic realm="c"', "Negotiate abc==, Bearer"])
    assert found == [("digest", {"realm": "a, b", "nonce": 'x"y', "stale": "TRUE"}), ("basic", {"realm": "c"}),
                     ("negotiate", {}), ("bearer", {})]


def test_basic_is_sent_once_asked_then_with_every_request(digest_server) -> None:
    server = digest_server("Basic")
    engine = reader(server)
    for _ in range(3):
        engine.select("SELECT ?x {}")
    assert [seen["status"] for seen in server.seen] == [401, 200, 200, 200]
    assert server.seen[0]["authorization"] is None


def test_a_token_is_sent_with_every_request_and_a_refused_one_is_not_retried(digest_server) -> None:
    server = digest_server()
    with pytest.raises(EngineError) as raised:
        Engine(server.url, timeout=5, env={"CKG_STORE_TOKEN": "t0ken-XYZ"}).select("SELECT ?x {}")
    assert raised.value.status == 502 and "refused our credentials (HTTP 401)" in raised.value.message
    assert [seen["authorization"] for seen in server.seen] == ["Bearer t0ken-XYZ"]
    assert "t0ken-XYZ" not in raised.value.message


# ---- the SPARQL proxy (the page reader's client) ----

def proxied(server: DigestServer, password: str = PASSWORD) -> Answer:
    upstream = Upstream(server.url, "urn:g", env={"CKG_STORE_USER": USER, "CKG_STORE_PASSWORD": password})
    query = "SELECT ?x WHERE { ?x ?p ?o }"
    return upstream.run(Job(query, "application/sparql-results+json", None, None), inspect_query(query), timeout=5)


@pytest.mark.parametrize("algorithm, basic_first", [("MD5", False), ("SHA-256", False), ("MD5", True)])
def test_the_sparql_proxy_answers_digest_too(digest_server, algorithm: str, basic_first: bool) -> None:
    server = digest_server(algorithm, basic_first=basic_first)
    answer = proxied(server)
    assert answer.status == 200 and json.loads(answer.body)["results"]["bindings"][0]["x"]["value"] == "one"
    assert [seen["status"] for seen in server.seen] == [401, 200]  # one challenge, answered at once
    assert server.seen[-1]["fields"]["algorithm"] == algorithm


def test_the_sparql_proxy_says_the_same_words_for_a_refusal(digest_server) -> None:
    server = digest_server()
    answer = proxied(server, password="wrong")
    assert answer.status == 502
    text = answer.body.decode()
    assert "refused our credentials (HTTP 401)" in text and "CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN" in text
    assert "wrong" not in text
    assert len(server.seen) == 2  # never a loop


# ---- a real Virtuoso (tests/engines.py's session engine and its account) ----

def test_ckg_serve_store_reads_virtuosos_digest_endpoint_as_the_anonymous_one(virtuoso) -> None:
    """``ckg serve --store .../sparql-auth`` with the account from the environment: the same page bytes as
    read anonymously from ``/sparql``, SPARQL through it too, and a wrong password refused in words."""
    from conftest import ROOT, start_server
    from service.app import create_app
    from service.config import ServiceConfig
    from store_support import http_get, publish_folder

    graph = "https://example.org/ckg-digest-tests/current"
    publish_folder(virtuoso, ROOT / "catalog", graph)
    authenticated = virtuoso.update  # /sparql-auth: Digest only
    assert authenticated.endswith("/sparql-auth")
    page = "competency/klantgerichtheid?format=nt"
    anonymous = create_app(ServiceConfig.from_env(store=virtuoso.query, store_graph=graph)).test_client().get("/" + page)
    assert anonymous.status_code == 200 and anonymous.data
    with start_server("--store", authenticated, "--store-graph", graph, "--workers", "1", env=virtuoso.env()) as url:
        status, body = http_get(url + page)
        assert status == 200 and body == anonymous.data
        status, answer = http_get(url + "sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D&format=json")
        assert status == 200 and json.loads(answer)["boolean"] is True
        status, facts = http_get(url + "status")
        assert status == 200 and virtuoso.password.encode() not in facts
    with pytest.raises(EngineError) as raised:
        Engine(authenticated, graph, timeout=30, env=virtuoso.env() | {"CKG_STORE_PASSWORD": "not-it"}).ask("ASK {}")
    assert raised.value.status == 502 and "refused our credentials (HTTP 401)" in raised.value.message
    with pytest.raises(EngineError) as raised:  # and without any: the same 502, saying none are set
        Engine(authenticated, graph, timeout=30, env={}).ask("ASK {}")
    assert raised.value.status == 502 and "none are set" in raised.value.message
