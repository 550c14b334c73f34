"""``ckg serve --store`` follows ``ckg publish``: a new publish is served without a restart, and nothing fails.

``ckg publish`` loads each catalogue into a fresh graph, switches a pointer to it and drops the graph
before the previous one at the publish after (exports.publication). A front end that kept reading the
graph it started with would serve stale pages after one publish and empty ones after two; this test
publishes three versions under a running server, with clients reading pages and SPARQL throughout.
"""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.parse
from pathlib import Path

from conftest import ROOT, start_server
from engines import Engine
from exports.publication import current_graph
from store_support import http_get, publish_folder

NAME = "https://example.org/ckg-follow-tests/current"
PAGE = "competency/klantgerichtheid.ttl"
QUERY = ('SELECT ?name WHERE { <https://w3id.org/competency-kg/competency/klantgerichtheid> '
         '<http://www.w3.org/2004/02/skos/core#prefLabel> ?name FILTER(lang(?name) = "en") }')


def publish(engine: Engine, catalogue: Path) -> None:
    publish_folder(engine, catalogue, NAME)


def rename(catalogue: Path, english: str) -> None:
    """A new English name for Klantgerichtheid: what an editor changes between two publishes."""
    file = catalogue / "competencies" / "klantgerichtheid.yaml"
    text = file.read_text(encoding="utf-8")
    current = next(line for line in text.splitlines() if line.startswith("  en: "))
    file.write_text(text.replace(current, f"  en: {english}", 1), encoding="utf-8")


class Readers:
    """Clients reading the page and asking SPARQL all along; every answer that is not a 200 is kept."""

    def __init__(self, root: str, count: int = 4) -> None:
        self.root, self.failures, self.answers = root, [], 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._read, args=(n,)) for n in range(count)]

    def _read(self, n: int) -> None:
        while not self.stop.is_set():
            url = self.root + (PAGE if n % 2 else "sparql?" + urllib.parse.urlencode({"query": QUERY}))
            status, body = http_get(url)
            self.answers += 1
            if status != 200 and not (status == 503 and b"slots" in body):  # admission control is not a failure
                self.failures.append((url, status, body[:200]))

    def __enter__(self) -> "Readers":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def served_name(root: str) -> bytes:
    status, body = http_get(root + PAGE)
    assert status == 200, body
    return body


def wait_for(root: str, english: str, limit: float = 90) -> None:
    deadline = time.monotonic() + limit  # a bound on waiting for the switch, not a speed claim
    while english.encode() not in served_name(root):
        assert time.monotonic() < deadline, f"the front end never served the publish naming {english!r}"
        time.sleep(0.5)


def downloaded_site(root: str, private: Path, english: str) -> Path:
    """The private folder of the site that wrote ``/downloads/catalogue.ttl``, once it holds ``english``."""
    deadline = time.monotonic() + 90  # a bound on waiting for the child that writes the files, not a speed claim
    while True:
        status, body = http_get(root + "downloads/catalogue.ttl")
        if status == 200 and english.encode() in body:
            break
        assert status in (200, 503) and time.monotonic() < deadline, (status, body[:300])
        time.sleep(0.5)
    (service,) = private.glob("ckg-store-*")
    newest = max(service.iterdir(), key=lambda site: site.stat().st_mtime)
    assert (newest / "release" / "catalogue.ttl").read_bytes() == body
    return newest


def test_each_publish_is_served_without_a_restart_and_no_reader_fails(oxigraph: Engine, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalogue)
    shutil.rmtree(catalogue / "releases")
    publish(oxigraph, catalogue)
    first = current_graph(oxigraph.query, NAME)
    private = tmp_path / "tmp"
    private.mkdir()
    with start_server("--workers", "2", "--store", oxigraph.query, "--store-graph", NAME, env={"TMPDIR": str(private)}) as root:
        assert b"Customer orientation" in served_name(root)
        sites = [downloaded_site(root, private, "Customer orientation")]
        with Readers(root) as readers:
            for english in ("Customer focus", "Client orientation"):
                rename(catalogue, english)
                publish(oxigraph, catalogue)
                wait_for(root, english)
                status = json.loads(http_get(root + "status")[1])
                assert status["graph"] == current_graph(oxigraph.query, NAME) != first
                assert status["follows"] == NAME
                sites.append(downloaded_site(root, private, english))  # each site's files are its own graph's
        assert readers.failures == [], readers.failures[:5]
        # a site's private files go once the site after it is replaced (its old workers may still be finishing)
        assert [site.exists() for site in sites] == [False, True, True]
        assert readers.answers > 20
        _, body = http_get(root + "sparql?" + urllib.parse.urlencode({"query": QUERY, "format": "csv"}))
        assert body.decode().splitlines()[1:] == ["Client orientation"]  # SPARQL reads the graph the pages read
