"""Fuzz a real ``ckg serve`` with mutated HTTP requests and count the answers per status (issue 8).

A seeded generator (the same seed gives the same requests) writes raw HTTP/1.1 requests, so it
can send what no HTTP library would: methods, paths and query strings with bad percent-encoding,
non-ASCII digits (``?page=²``), odd ``Accept``/``Content-Type``/charset headers, ``Content-Length``
that disagrees with the body, malformed chunked bodies, and SPARQL queries mutated token by token.
Each request goes on its own connection (``Connection: close``) and is read until the server closes.

A 5xx is a bug, except 503, which the service answers by design to SPARQL work it will not do
(time, memory or admission limits, always with a message). The run fails on any other 5xx, on a
request that got no answer at all, and if the server no longer answers a plain GET at the end.

Usage: python bench/fuzz.py [--seconds 300] [--seed 1] [--clients 8] [--write-results]
(starts its own ``ckg serve`` on a free 127.0.0.1 port, with a 1 s query and request time limit so
runaway queries and short bodies cost the fuzzer little time; ``--url`` fuzzes a running server.)
"""
from __future__ import annotations

import argparse
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import write_section  # noqa: E402
from deploy.procs import answers, stop, wait_until  # noqa: E402

SECTION = "## Fuzzing (bench/fuzz.py)"
ALLOWED_5XX = {503}
READ_LIMIT = 15.0
"""Seconds a fuzzer client waits for one answer (the server's request limit is 1 s, its query limit 1 s)."""

PATHS = ["/", "/competency/klantgerichtheid", "/competency/klantgerichtheid.ttl", "/competency/klantgerichtheid.jsonld",
         "/competency/klantgerichtheid.nt", "/competency/klantgerichtheid.rdf", "/competency/klantgerichtheid.html",
         "/competency/klantgerichtheid/level/3", "/competency/klantgerichtheid/level/3/criterion/1",
         "/competency/", "/level/3", "/level/", "/scheme", "/def", "/shapes", "/cluster/", "/sparql", "/mappings",
         "/mappings.sssom.tsv", "/mappings.jsonld", "/downloads/", "/downloads/catalogue.ttl", "/context.jsonld",
         "/query", "/static/query.js", "/release/", "/feed", "/status", "/organisation/", "/offer/"]
METHODS = ["GET"] * 8 + ["POST"] * 5 + ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "get", "G3T",
                                         "BREW", "GET GET", "", "X" * 300]
MEDIA = ["application/ld+json", "text/turtle", "application/n-triples", "application/rdf+xml", "text/html",
         "application/sparql-results+json", "application/sparql-results+xml", "text/csv",
         "text/tab-separated-values", "application/json", "text/plain", "image/png", "*/*", "application/*",
         "text/*;q=0", "*/*;q=abc", "application/ld+json;profile=\"http://www.w3.org/ns/json-ld#expanded\"",
         "", ";;;", "text/html;level=1;q=0.5, */*;q=0.1", "a/b/c", "\u00e9/\u00e9", "*/*;q=2", ",,,,"]
CHARSETS = ["utf-8", "UTF-8", "latin-1", "utf-16", "UTF-16LE", "utf-32", "ascii", "hex", "uu", "bz2", "base64",
            "zlib", "rot13", "punycode", "idna", "quopri", "unicode_escape", "raw_unicode_escape", "cp1252",
            "mbcs", "bogus", "", "\"utf-8\"", "utf-8;charset=utf-16", "x" * 200]
BODY_TYPES = ["application/sparql-query", "application/x-www-form-urlencoded", "application/sparql-update",
              "text/plain", "application/json", "multipart/form-data; boundary=x", "", "application/octet-stream"]
NUMBERS = ["1", "2", "0", "-1", "\u00b2", "\u0661", "\u0663\u0662", "\uff11", "1e3", "1.5", "0x10", " 1", "1 ",
           "9" * 12, "9" * 5000, "", "NaN", "\u2167", "+1"]
QUERIES = [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 5",
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?c ?l WHERE { ?c skos:prefLabel ?l } ORDER BY ?l",
    "ASK { ?s a <https://w3id.org/competency-kg/def#Competency> }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 10",
    "DESCRIBE <https://w3id.org/competency-kg/competency/klantgerichtheid>",
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }",
    "SELECT ?s WHERE { ?s ?p ?o FILTER(REGEX(STR(?o), \"^k\", \"i\")) } GROUP BY ?s HAVING (COUNT(?o) > 2)",
    "SELECT * WHERE { ?s ?p ?o . OPTIONAL { ?o ?q ?r } } ORDER BY DESC(?s) LIMIT 3 OFFSET 2",
    "SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }",
    "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1",
    "SELECT * WHERE { VALUES ?x { 1 2 3 } BIND(?x * 2 AS ?y) }",
    "SELECT * WHERE { ?s <http://www.w3.org/2004/02/skos/core#broader>+ ?o }",
]
TOKENS = ["SERVICE", "<http://127.0.0.1:9/>", "{", "}", "(", ")", ".", ";", ",", "?x", "$y", "_:b", "a", "FILTER",
          "OPTIONAL", "UNION", "MINUS", "GRAPH", "BIND", "VALUES", "ORDER BY", "GROUP BY", "LIMIT", "OFFSET",
          "999999999999999999999", "1.SERVICE", "\"\"\"", "'", "\"x\"@nl", "\"1\"^^<http://www.w3.org/2001/"
          "XMLSchema#integer>", "INSERT DATA", "DELETE WHERE", "LOAD", "CLEAR ALL", "#", "\\u0000", "\u00b2",
          "\U0001F600", "REGEX(?x, \"(a+)+$\")", "STRLEN(?x)", "RAND()", "NOW()", "COUNT(*)", "*", "/", "|", "^",
          "SELECT", "WHERE", "PREFIX x: <", ">", "<", "ASK", "CONSTRUCT", "DESCRIBE", "FROM NAMED", "USING"]


def _mutate_query(rng: random.Random) -> str:
    tokens = rng.choice(QUERIES).split(" ")
    for _ in range(rng.randint(0, 4)):
        kind = rng.random()
        at = rng.randrange(len(tokens) + 1)
        if kind < 0.35:
            tokens.insert(at, rng.choice(TOKENS))
        elif kind < 0.55 and len(tokens) > 1:
            del tokens[min(at, len(tokens) - 1)]
        elif kind < 0.75 and tokens:
            i = min(at, len(tokens) - 1)
            tokens.insert(i, tokens[i])
        elif tokens:
            i = min(at, len(tokens) - 1)
            word = tokens[i]
            if word:
                j = rng.randrange(len(word))
                tokens[i] = word[:j] + chr(rng.choice([0, 7, 27, 0xA0, 0xFFFD, 0xD7FF, rng.randrange(32, 127)])) \
                    + word[j + 1:]
    return " ".join(tokens)


def _percent(rng: random.Random, text: str) -> str:
    return urllib.parse.quote(text, safe="") if rng.random() < 0.8 else text.replace(" ", "+")


def _query_string(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        key = rng.choice(["page", "format", "lang", "query", "context", "q", "default-graph-uri", "named-graph-uri",
                          "page", "format", "x" * rng.randint(1, 50), "", "%zz", "%C0%AF", "\u00b2"])
        if key == "page":
            value = rng.choice(NUMBERS)
        elif key == "format":
            value = rng.choice(["ttl", "jsonld", "nt", "rdf", "html", "json", "csv", "tsv", "xml", "bogus", "", "%00"])
        elif key == "lang":
            value = rng.choice(["nl", "en", "de", "", "nl-NL", "*", "\u00e9"])
        elif key == "query":
            value = _mutate_query(rng)
        else:
            value = rng.choice(["1", "", "%", "%FF%FE", "\u00e9", "a=b", "&"])
        parts.append(_percent(rng, key) + ("=" + _percent(rng, value) if rng.random() < 0.95 else ""))
    raw = "&".join(parts)
    if rng.random() < 0.05:
        raw += rng.choice(["&&", "%", "%G0", "=", "#frag", "%00", "%C3%28"])
    return ("?" + raw) if raw else ""


def _path(rng: random.Random) -> str:
    path = rng.choice(PATHS)
    roll = rng.random()
    if roll < 0.1:
        path += rng.choice(["/", "//", "/..", "/../../etc/passwd", "%2F..%2F", ".", ".bogus", "%", "%zz", "%C0%AF",
                            "%FF", "\u00e9", "%00", ";x=1", "~", "?", "#"])
    elif roll < 0.13:
        path = path + "/" + "a" * rng.choice([100, 1000, 9000])
    elif roll < 0.16:
        path = rng.choice(["*", "http://evil.example/", "", "../", "//sparql", "/%2e%2e/"])
    return path


def _headers(rng: random.Random) -> list[tuple[str, str]]:
    headers = [("Host", rng.choice(["127.0.0.1", "evil.example", "", "a" * 300, "[::1]:80", "x:y:z"]))]
    if rng.random() < 0.7:
        headers.append(("Accept", ", ".join(rng.choice(MEDIA) for _ in range(rng.randint(1, 3)))))
    if rng.random() < 0.3:
        headers.append(("Accept-Language", rng.choice(["nl", "en;q=0.5, nl", "*", "", "de-DE,de;q=0.9", ";q=x",
                                                       "\u00e9"])))
    if rng.random() < 0.2:
        headers.append(("If-None-Match", rng.choice(["*", '"abc"', "W/\"x\"", ",,", '"' * 3, ""])))
    if rng.random() < 0.15:
        headers.append(("Origin", "https://hr.example"))
    if rng.random() < 0.05:
        headers.append((rng.choice(["X-Bad Name", "X-Ünicode", ":", "X-Nul"]), "v\x00" if rng.random() < 0.3 else "v"))
    if rng.random() < 0.05:
        headers.append(("Range", rng.choice(["bytes=0-10", "bytes=abc", "bytes=10-0", "bytes=0-0,1-1,2-2"])))
    if rng.random() < 0.03:
        headers.append(("Connection", "keep-alive"))
    return headers


def _body(rng: random.Random) -> tuple[bytes, list[tuple[str, str]]]:
    """A body and the headers that describe it, often wrongly."""
    headers = []
    kind = rng.choice(BODY_TYPES)
    query = _mutate_query(rng)
    if kind == "application/x-www-form-urlencoded":
        body = ("query=" + urllib.parse.quote(query, safe="")).encode()
    elif rng.random() < 0.1:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    else:
        body = query.encode("utf-8", "surrogatepass")
    if kind:
        content_type = kind
        if rng.random() < 0.5:
            content_type += "; charset=" + rng.choice(CHARSETS)
        headers.append(("Content-Type", content_type))
    framing = rng.random()
    if framing < 0.12:  # chunked, sometimes malformed
        pieces, at = [], 0
        while at < len(body):
            size = rng.randint(1, 50)
            pieces.append(b"%x\r\n" % len(body[at:at + size]) + body[at:at + size] + b"\r\n")
            at += size
        chunked = b"".join(pieces) + b"0\r\n\r\n"
        if rng.random() < 0.5:
            damage = rng.choice([b"zz\r\n", b"\r\n", b"5\r\nab\r\n", b"-1\r\n", b"fffffffffffffffff\r\n", b"5;\x00\r\n"])
            cut = rng.randrange(len(chunked) + 1)
            chunked = chunked[:cut] + damage + chunked[cut:]
        headers.append(("Transfer-Encoding", rng.choice(["chunked"] * 6 + ["gzip", "chunked, gzip", "Chunked",
                                                                           " chunked", "identity"])))
        if rng.random() < 0.2:
            headers.append(("Content-Length", str(len(chunked))))
        return chunked, headers
    if framing < 0.2:  # Content-Length that disagrees with the body
        headers.append(("Content-Length", rng.choice([str(max(0, len(body) - rng.randint(1, 5))),
                                                      str(len(body) + rng.randint(1, 5)), "-1", "abc", "1, 2",
                                                      "\u00b2", "99999999999999999999"])))
        return body, headers
    if framing < 0.23:
        headers += [("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 1))]
        return body, headers
    if framing < 0.26:
        headers.append(("Expect", "100-continue"))
    headers.append(("Content-Length", str(len(body))))
    return body, headers


def request(rng: random.Random) -> bytes:
    """One mutated request, as the bytes a client would send."""
    method = rng.choice(METHODS)
    path = _path(rng)
    query = _query_string(rng)
    if path.endswith("/") and rng.random() < 0.5:  # listings are paged: their parameter gets its share
        query += ("&" if query else "?") + "page=" + _percent(rng, rng.choice(NUMBERS))
    target = path + query
    headers = _headers(rng)
    body = b""
    if method not in ("GET", "HEAD", "OPTIONS") or rng.random() < 0.05:
        body, body_headers = _body(rng)
        headers += body_headers
    rng.shuffle(headers)
    headers.append(("Connection", "close"))
    version = "HTTP/1.1" if rng.random() < 0.97 else rng.choice(["HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "http/1.1"])
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8", "surrogatepass") + body


def exchange(port: int, data: bytes) -> int | None:
    """Send ``data`` and read until the server closes: the status of the first answer (a 1xx skipped), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=READ_LIMIT) as sock:
            sock.sendall(data)
            received = b""
            deadline = time.monotonic() + READ_LIMIT
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                statuses = re.findall(rb"HTTP/1\.[01] (\d{3}) ", received[:4096])
                final = [int(s) for s in statuses if not s.startswith(b"1")]
                if final and len(received) > 65536:
                    break  # a long body: the status is what counts
    except (ConnectionResetError, BrokenPipeError):
        pass
    except OSError:
        return None
    statuses = [int(s) for s in re.findall(rb"HTTP/1\.[01] (\d{3}) ", received[:4096]) if not s.startswith(b"1")]
    return statuses[0] if statuses else None


@dataclass
class Report:
    statuses: Counter = field(default_factory=Counter)
    bugs: list[tuple[int | None, bytes]] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    alive_after: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.bugs) or not self.alive_after


def fuzz(url: str, seconds: float, seed: int = 1, clients: int = 8, per_client: int | None = None) -> Report:
    """Mutated requests from ``clients`` threads for ``seconds``; client i uses seed (seed, i).

    ``per_client`` stops each client after that many requests instead (then ``seconds`` is only a bound),
    so a short run sends exactly the same requests every time.
    """
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    report, lock = Report(), threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(f"{seed}-{number}")
        sent = 0
        while time.monotonic() < stop_at and (per_client is None or sent < per_client):
            sent += 1
            data = request(rng)
            status = exchange(port, data)
            with lock:
                report.requests += 1
                report.statuses[status if status is not None else "none"] += 1
                if status is None or (status >= 500 and status not in ALLOWED_5XX):
                    report.bugs.append((status, data[:2000]))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.seconds = time.monotonic() - started
    try:
        with urllib.request.urlopen(url + "competency/klantgerichtheid", timeout=1) as response:
            report.alive_after = response.status == 200
    except OSError:
        report.alive_after = False
    return report


@contextmanager
def server(*args: str) -> Iterator[str]:
    """``ckg serve`` (bundled catalogue) on a free port, with short limits; yields its root URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "ckg.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--workers", "2", "--threads", "4", "--query-timeout", "1", "--request-timeout", "1",
                                *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        try:
            wait_until(process, lambda: answers(url + "sparql"), "ckg serve", 90, every=0.2)
        except RuntimeError as error:
            log.seek(0)
            raise RuntimeError(f"{error}:\n{log.read().decode(errors='replace')}") from None
        yield url
    finally:
        stop(process)
        log.close()


def table(report: Report) -> str:
    rows = sorted(report.statuses.items(), key=lambda item: (str(item[0])))
    lines = ["| status | answers |", "|---|---:|", *(f"| {status} | {count:,} |" for status, count in rows)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--url", help="fuzz this running server instead of starting one")
    parser.add_argument("--write-results", action="store_true", help="record the run in bench/RESULTS.md")
    options = parser.parse_args()
    if options.url:
        report = fuzz(options.url, options.seconds, options.seed, options.clients)
    else:
        with server() as url:
            report = fuzz(url, options.seconds, options.seed, options.clients)
    print(table(report))
    print(f"{report.requests:,} requests in {report.seconds:.0f} s; bugs (5xx other than 503, or no answer): "
          f"{len(report.bugs)}; plain GET answered afterwards: {report.alive_after}")
    for status, data in report.bugs[:10]:
        print(f"--- {status}:\n{data[:600]!r}")
    if options.write_results:
        write_section(f"{SECTION}\n\n`python bench/fuzz.py --seconds {options.seconds:g} --seed {options.seed} "
                      f"--clients {options.clients} --write-results` against `ckg serve` (bundled catalogue, 2 workers "
                      f"x 4 threads, 1 s query and request limits), {time.strftime('%Y-%m-%d')}: "
                      f"{report.requests:,} mutated requests in {report.seconds:.0f} s, "
                      f"{len(report.bugs)} answered 5xx (other than 503) or not at all; a plain GET answered "
                      f"afterwards: {'yes' if report.alive_after else 'NO'}.\n\n{table(report)}\n")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
