"""The SPARQL endpoint under attack (issue 8, classes 1, 2, 3, 5, 6, 7, 13), each against a real ``ckg serve``.

Every test asserts the outcome a hostile client must get — the status, within a bound, the service
still answering a plain GET within 1 s, and, where the attack costs CPU, every process of the server
back to idle afterwards. Bounds are enforced as ``requests`` timeouts (a read that takes longer raises),
generous for a loaded 2-core machine, but each one far below what the unfixed service took.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from conftest import ServerURL, start_server
from service.config import ServiceConfig
from service.sparql.budget import memory_ceiling
from service.sparql.execute import Job
from service.sparql.pool import QueryPool
from test_sparql_limits import RUNAWAY, Listener, settled_descendants
from tests.hostile_support import descendants

pytestmark = pytest.mark.hostile

WORKERS, THREADS, SLOTS = 2, 4, 2
QUERY_TIMEOUT = 2.0
QUEUE_WAIT = 1.0
PLAIN_GET = 1.0
"""A resource GET must be answered within this many seconds whatever the SPARQL load."""
RESOURCE = "competency/klantgerichtheid"
CACHE_MIB = 8


@pytest.fixture(scope="module")
def server() -> ServerURL:
    with start_server("--workers", str(WORKERS), "--threads", str(THREADS), "--sparql-slots", str(SLOTS),
                      "--query-timeout", str(QUERY_TIMEOUT), "--sparql-queue-wait", str(QUEUE_WAIT),
                      "--sparql-cache-mib", str(CACHE_MIB)) as url:
        yield url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by ``pid`` and every process below it."""
    ticks = 0
    for process in {pid, *descendants(pid)}:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def assert_back_to_idle(server: ServerURL, within: float = 20.0) -> None:
    """Within ``within`` seconds, some 2-second window in which the whole server used (almost) no CPU."""
    deadline = time.monotonic() + within
    used = None
    while time.monotonic() < deadline:
        before = cpu_seconds(server.pid)
        time.sleep(2)
        used = cpu_seconds(server.pid) - before
        if used <= 0.1:
            return
    pytest.fail(f"the server still used {used:.2f} s of CPU per 2 s, {within:g} s after the attack")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PlainGets:
    """Resource GETs in a loop while an attack runs; each must be answered 200 within PLAIN_GET seconds."""

    def __init__(self, server: str) -> None:
        self.server = server
        self.failures: list[str] = []
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    answer = session.get(self.server + RESOURCE, timeout=PLAIN_GET,
                                         headers={"Accept": "text/turtle"})
                    if answer.status_code != 200:
                        self.failures.append(f"status {answer.status_code}")
                    self.answered += 1
                except requests.RequestException as error:
                    self.failures.append(repr(error))
                self._stop.wait(0.2)

    def __enter__(self) -> "PlainGets":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self.failures, f"plain GETs failed or took over {PLAIN_GET:g} s during the attack: {self.failures[:5]}"
        assert self.answered >= 1
        assert requests.get(self.server + RESOURCE, timeout=PLAIN_GET).status_code == 200  # and right after it


# ---- 1: every step before the query process is linear and bounded ----

@pytest.mark.parametrize("unit", ["a.", "?a< ", "( ", "1.", "'x' ", "ex:a\\, ", "\\u0041"])
def test_a_900_kb_query_is_settled_in_bounded_time_while_gets_keep_answering(server, unit):
    """16 KB took up to 2.5 s to refuse, 900 KB pinned a core for over 150 s. Now the text check is one linear
    pass: any such body is refused (4xx) or run within the query limit, and never blocks a resource GET."""
    query = "ASK { " + unit * (900_000 // len(unit)) + " }"
    with PlainGets(server):
        answer = requests.post(server + "sparql", data=query.encode(), timeout=QUERY_TIMEOUT + 8,
                               headers={"Content-Type": "application/sparql-query"})
    assert answer.status_code in (400, 503), answer.text[:300]
    assert answer.text.strip() and "Traceback" not in answer.text
    assert_back_to_idle(server)


# ---- 2: no query process reaches the network ----

FEDERATING = [
    "ASK {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ ?s ?p 1.SERVICE <{url}> {{ ?a ?b ?c }} }}",
    "SELECT * WHERE {{ VALUES ?e {{ <{url}> }} SERVICE SILENT ?e {{ ?s ?p ?o }} }}",
    "SELECT * WHERE {{ SERVICE <{url6}> {{ ?s ?p ?o }} }}",
]


@pytest.mark.parametrize("netns", ["with the network namespace", "seccomp filter alone"])
def test_a_federated_query_that_reaches_the_store_connects_nowhere(monkeypatch, netns):
    """The token check bypassed (the pool is called directly): Oxigraph tries to connect, the process cannot.
    With CKG_TEST_DISABLE_NETNS=1 the query processes keep the host's network: the seccomp filter alone must
    stop them. The listener on 127.0.0.1 (and on ::1 where there is one) must stay silent."""
    from pyoxigraph import Store
    if netns == "seccomp filter alone":
        monkeypatch.setenv("CKG_TEST_DISABLE_NETNS", "1")
    listener = Listener()
    listener6 = _listen6()
    url6 = f"http://[::1]:{listener6.getsockname()[1]}/sparql" if listener6 else listener.url
    pool = QueryPool(Store(), 1)
    try:
        answers = [pool.run(Job(template.format(url=listener.url, url6=url6), "application/sparql-results+json",
                                None, None), timeout=10) for template in FEDERATING]
        # Oxigraph did try (its connection failed: 400 with the error); SILENT or an empty join may skip it: 200.
        assert answers[0].status == 400 and b"cannot evaluate" in answers[0].body, answers[0]
        assert all(answer.status in (200, 400) for answer in answers), answers
        time.sleep(0.2)
        assert listener.connections() == 0
        if listener6:
            listener6.setblocking(False)
            with pytest.raises(BlockingIOError):
                listener6.accept()
    finally:
        pool.close()
        listener.socket.close()
        if listener6:
            listener6.close()


def _listen6() -> socket.socket | None:
    try:
        sock = socket.socket(socket.AF_INET6)
        sock.bind(("::1", 0))
        sock.listen(4)
        return sock
    except OSError:
        return None


def test_without_the_filter_the_service_starts_with_sparql_disabled():
    """Where the seccomp filter cannot be installed (simulated), queries get 503 saying why; the rest serves."""
    with start_server("--workers", "1", env={"CKG_TEST_DISABLE_SECCOMP": "1"}) as url:
        answer = requests.get(url + "sparql", params={"query": "ASK {}"}, timeout=10)
        assert answer.status_code == 503 and "SPARQL is disabled" in answer.text and "seccomp" in answer.text
        assert requests.get(url + RESOURCE, timeout=PLAIN_GET).status_code == 200


# ---- 3: memory bounded by the bytes held ----

def test_thousands_of_distinct_long_ask_queries_keep_the_workers_under_their_bound(server):
    """5,000 distinct 900 KB ASK queries grew each worker by over 2 GiB: the cache counted answers, not keys.
    Here 1,500 distinct 200 KB queries (300 MB of keys) may grow a worker by its cache budget and some slack."""
    settled_descendants(server.pid, WORKERS * (1 + SLOTS))  # every worker and its query processes are up
    workers = [pid for pid in descendants(server.pid) if _parent(pid) == server.pid]
    assert len(workers) == WORKERS
    before = {pid: rss(pid) for pid in workers}
    padding = "x" * 200_000

    def ask(i: int) -> int:
        with requests.Session() as session:
            return session.post(server + "sparql", data=f"ASK {{ }} # {i} {padding}".encode(), timeout=30,
                                headers={"Content-Type": "application/sparql-query"}).status_code

    with PlainGets(server), ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(ask, range(1_500)))
    assert set(statuses) <= {200, 503} and statuses.count(200) > 1_000
    config = ServiceConfig.from_env(workers=WORKERS, threads=THREADS, sparql_slots=SLOTS, answer_cache_mib=CACHE_MIB)
    ceiling = memory_ceiling(config, site_bytes=max(before.values()))
    for pid in workers:
        grown = rss(pid) - before[pid]
        assert grown <= (CACHE_MIB + 48) * 2**20, f"worker {pid} grew by {grown / 2**20:.0f} MiB"
        assert rss(pid) <= ceiling.worker_bound
    assert_back_to_idle(server)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


# ---- 5: SPARQL has its own slots; the rest never waits behind it ----

def test_runaway_queries_get_503_from_arrival_extra_ones_at_once_and_gets_keep_answering(server):
    """Eight runaway queries blocked plain GETs for 10-20 s and queued ones got 503 after 20-30 s. Now at most
    SLOTS run per worker and a few more wait up to QUEUE_WAIT; the others get 503 + Retry-After at once, and
    every running one gets its 503 within its limit counted from arrival."""
    count = WORKERS * SLOTS * 2 + 6

    def runaway(_: int) -> tuple[int, float, str | None, str]:
        started = time.monotonic()
        answer = requests.get(server + "sparql", params={"query": RUNAWAY}, timeout=QUERY_TIMEOUT + 6,
                              headers={"Connection": "close"})
        return answer.status_code, time.monotonic() - started, answer.headers.get("Retry-After"), answer.text

    with PlainGets(server), ThreadPoolExecutor(count) as pool:
        results = list(pool.map(runaway, range(count)))
    assert all(status == 503 for status, *_ in results), [r[:2] for r in results]
    busy = [r for r in results if "slots" in r[3]]
    stopped = [r for r in results if "stopped" in r[3]]
    assert len(busy) + len(stopped) == count
    assert len(stopped) <= WORKERS * SLOTS  # only the queries in a slot ran; the waiting ones gave up after 1 s
    assert all(retry is not None and int(retry) >= 1 for _, _, retry, _ in busy)
    assert all(took <= QUEUE_WAIT + 3 for _, took, _, _ in busy), sorted(took for _, took, _, _ in busy)
    assert len(stopped) >= WORKERS * SLOTS - 1
    assert_back_to_idle(server)


# ---- 6 and 13: bad inputs are 4xx, never 500 ----

@pytest.mark.parametrize("charset", ["hex", "uu", "bz2", "base64", "zlib", "rot13", "punycode", "idna",
                                     "UTF-16", "utf-32-be", "x-no-such-charset"])
def test_any_charset_but_utf8_is_a_4xx_with_a_message(server, charset):
    answer = requests.post(server + "sparql", data="ASK { ?s ?p 'é' }".encode("utf-8"), timeout=10,
                           headers={"Content-Type": f"application/sparql-query; charset={charset}"})
    assert 400 <= answer.status_code < 500 and "UTF-8" in answer.text


# ---- 7: nothing published comes from the Host header ----

EVIL = "evil.example"


@pytest.mark.parametrize("path, accept", [
    ("sparql", "text/turtle"), ("sparql", "application/ld+json"), ("sparql", "application/rdf+xml"),
    ("sparql", "application/n-triples"),
    ("sparql?query=CONSTRUCT+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+20", "text/turtle"),
    ("sparql?query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+20", "application/sparql-results+json"),
    ("sparql?query=SELECT+*+WHERE+%7B", "text/plain"),
    ("", "text/html"), ("", "text/turtle"), ("", "application/ld+json"),
    (RESOURCE, "text/html"), (RESOURCE, "text/turtle"), (RESOURCE, "application/ld+json"),
    (RESOURCE, "application/rdf+xml"), (RESOURCE, "application/n-triples"),
    (RESOURCE + ".jsonld", "*/*"), (RESOURCE + "/level/1", "text/turtle"), ("scheme", "text/html"),
    ("level/1", "text/turtle"), ("def", "text/turtle"), ("context.jsonld", "*/*"),
    ("mappings", "text/html"), ("mappings.jsonld", "*/*"), ("downloads/", "text/html"),
    ("query", "text/html"), ("status", "application/json"), ("feed", "*/*"), ("release/", "*/*"),
    ("no/such/thing", "text/html"), (RESOURCE, "application/x-unknown"), ("competency/", "text/html"),
])
def test_the_host_header_appears_in_no_answer(server, path, accept):
    """``Host: evil.example`` made the service description say <http://evil.example/sparql>."""
    answer = requests.get(server + path, headers={"Host": EVIL, "Accept": accept}, timeout=30,
                          allow_redirects=False)
    assert answer.status_code < 500
    assert EVIL not in answer.text and all(EVIL not in value for value in answer.headers.values()), \
        (answer.status_code, [v for v in answer.headers.values() if EVIL in v], answer.text[:300])


# ---- 3: the documented ceiling, and bodies read no further than the limit ----

def test_start_up_prints_the_sandbox_and_a_ceiling_that_adds_up_from_the_settings(capsys):
    import re
    from service.app import create_app
    create_app(ServiceConfig.from_env(workers=3, threads=4, sparql_slots=2, query_memory=100, answer_cache_mib=10,
                                      max_answer_mib=4, request_buffer_mib=8))
    said = capsys.readouterr().err
    assert "kept off the network by: seccomp filter" in said
    total, site = (int(n.replace(",", "")) for n in re.search(r"memory ceiling ([\d,]+) MiB = site ([\d,]+) MiB",
                                                              said).groups())
    # requests the worker holds until answered (8 MiB), plus one decoded body per request thread (4 + 5 x slots)
    bodies = 8 + (4 + 2 * 5) * 1_000_000 / 2**20
    assert total == pytest.approx(site + 3 * (site + 10 + 2 * 2 * 4 + bodies + 2 * 100), abs=3)


def test_a_chunked_body_is_read_no_further_than_the_limit(server):
    """Without a Content-Length the whole body was read into memory before its size was checked. Here the body
    never ends: the answer must come once the limit is passed, not when the client stops sending."""
    host, port = server.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                           b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 10_000
        for _ in range(150):  # 1.5 MB sent, and the body is not finished
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status_line = connection.recv(64).split(b"\r\n")[0]  # socket.timeout (10 s) if the server waits for more
    assert status_line.startswith(b"HTTP/1.1 413")


# ---- 3: eight memory bombs at once stay under the documented ceiling ----

BOMB = "SELECT * WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }} ORDER BY ?a ?f ?i # {n}"
"""598^3 ≈ 2·10^8 rows to sort: far more memory than a query may take."""


def pss(pid: int) -> int:
    """Proportional set size: shared pages split among their sharers, so a sum over processes counts each once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def test_eight_memory_bombs_at_once_keep_the_server_under_its_ceiling():
    """Eight memory-bomb queries took a host from 3 to 7.3 GB. At most slots x workers run, each within its
    query memory; the server's total (PSS of every process, sampled while they run) stays under the ceiling
    it printed, and resource GETs keep answering."""
    memory_mib = 64
    with start_server("--workers", str(WORKERS), "--threads", str(THREADS), "--sparql-slots", str(SLOTS),
                      "--query-timeout", "10", "--query-memory", str(memory_mib),
                      "--sparql-cache-mib", str(CACHE_MIB)) as url:
        settled_descendants(url.pid, WORKERS * (1 + SLOTS))
        config = ServiceConfig.from_env(workers=WORKERS, threads=THREADS, sparql_slots=SLOTS,
                                        query_memory=memory_mib, answer_cache_mib=CACHE_MIB)
        ceiling = memory_ceiling(config, site_bytes=rss(url.pid))
        peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, sum(pss(p) for p in {url.pid, *descendants(url.pid)}))
                done.wait(0.05)

        def bomb(n: int) -> requests.Response:
            return requests.get(url + "sparql", params={"query": BOMB.format(n=n)}, timeout=10 + 8)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            with PlainGets(url), ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(bomb, range(8)))
        finally:
            done.set()
            sampler.join()
        assert 0 < peak <= ceiling.total, f"peak {peak / 2**20:.0f} MiB over the ceiling {ceiling.describe()}"
        assert [a.status_code for a in answers] == [503] * 8, [a.text[:100] for a in answers]
        assert sum("memory" in a.text for a in answers) >= 1
        assert_back_to_idle(url)
