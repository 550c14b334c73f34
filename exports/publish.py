"""Publish a built catalogue, and its releases, into any triple store that speaks the standard protocols.

Only standard protocols are used, so the same code serves Oxigraph server, Virtuoso, Fuseki, GraphDB
or Neptune: the SPARQL 1.1 Graph Store HTTP Protocol to upload, SPARQL 1.1 Update for the small
records of exports.publication, and one SPARQL 1.1 query to read those records back.

Readers must never see a half-loaded graph, so nothing is uploaded where anyone reads it:
- the current catalogue is streamed, in chunks of N-Triples, into a fresh graph ``urn:uuid:…``;
  when every chunk has been accepted, one tiny update of the pointer graph (exports.publication)
  makes it the current graph. Readers resolve the pointer, so they see the old graph or the new one
  whole, on every engine: the switch touches two triples, not millions. (The earlier switch, one
  ``MOVE`` onto a fixed graph name, took 21 min and ~11 GiB on Oxigraph for 2.76 M triples and let
  Virtuoso's readers count a mix while it committed.)
- a release goes into the named graph of its version IRI, ``{base}release/<version>/``, and is
  recorded with its checksum only once it is complete; until then readers do not know it exists.
  Releases are immutable: one already recorded is skipped when its checksum matches and refused
  when it does not, before anything is uploaded.
If anything fails, the graph being loaded is dropped and the current pointer is left as it was.

Chunks keep the memory bounded (one chunk of text besides the graph itself, never a second copy of
millions of triples), let Digest authentication resend a refused request, and give progress. The
catalogue has no blank nodes, so cutting its N-Triples into separate requests loses nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from ontology.graph import Statement
from ontology.releases import MANIFEST, parse_version, rebase_text

from . import publication

N_TRIPLES = "application/n-triples"
CHUNK_TRIPLES = 100_000
"""Triples per upload request: ~15 MB of N-Triples, large enough that HTTP costs nothing, small enough for any engine."""
CHUNK_CHARACTERS = 32 << 20
"""And at most ~32 MB of text per request, whatever --chunk says: Virtuoso 7.2.5 never answered a single
Graph Store POST of 104 MB (617,455 triples; the same for another 115 MB), while 17 MB chunks took 1.5 s."""
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 3600.0
"""An update may take minutes on a busy engine: dropping an old graph of 3.32 M triples took 8 min on Oxigraph."""
STALL_SECONDS = 60.0
STALL_SECONDS_PER_TRIPLE = 0.001
"""A safety net: an upload not answered in 60 s + 1 ms per triple (160 s for a default chunk, which takes
1.5-15 s) is taken as stalled and sent again on a new connection. Virtuoso 7.2.5 left a too-large request
unanswered for good (its log: "Locks are held for a long time") while it went on serving every other
request, ten triples of that very chunk into the same graph included (bench/RESULTS.md). Chunks are now
kept small (CHUNK_CHARACTERS), but should an engine still leave one hanging, waiting the hour of
READ_TIMEOUT would not help, and sending the chunk again is idempotent (no blank nodes)."""
UPLOAD_ATTEMPTS = 3
DEADLOCK_PAUSES = (0.5, 2.0, 5.0)
"""Seconds before each resend of a request the engine refused as a deadlock's victim (SQLSTATE 40001; Virtuoso:
"SR172: Transaction deadlocked", when another client writes at the same time). Every request sent here is
idempotent on RDF's set semantics, so sending it again is safe; after the last pause the error is reported."""
MESSAGE_LIMIT = 300


class PublishError(Exception):
    """A failure the user can fix; its message is one line that says what went wrong and what to do."""


class _Stalled(Exception):
    """An upload the engine did not answer within its stall limit (GraphStore.put sends it again)."""


class ReleaseFolderProblem(PublishError):
    """A release folder that cannot be published as it is (our side: exit 1, not the engine's fault)."""


@dataclass(frozen=True)
class PublishResult:
    graph: str
    triples: int
    seconds: float
    skipped: bool = False
    """A release already in the engine with the same checksum: nothing was sent."""


Progress = Callable[[str, int, float], None]
"""Called after every chunk with what is loaded (``current`` or ``release 1.0.0``), triples sent so far, seconds."""


@dataclass(frozen=True)
class Credentials:
    """Who we are to the engine, read from the environment only (never argv, so never in ps or shell history)."""

    user: str | None = None
    password: str | None = None
    token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Credentials":
        env = os.environ if env is None else env
        return cls(env.get("CKG_STORE_USER") or None, env.get("CKG_STORE_PASSWORD"), env.get("CKG_STORE_TOKEN") or None)

    @property
    def given(self) -> bool:
        return bool(self.token or self.user)

    def auth_for(self, challenge: str) -> AuthBase | None:
        """The scheme the engine asked for in its WWW-Authenticate header (Digest for Virtuoso), else Basic.

        Digest wherever it is among the challenges (requests joins several headers with ", "): an engine
        that offers Basic first and Digest too must not get the password in the clear."""
        if self.token:
            return _Bearer(self.token)
        if self.user:
            if _DIGEST_OFFERED.search(challenge):
                return HTTPDigestAuth(self.user, self.password or "")
            return HTTPBasicAuth(self.user, self.password or "")
        return None


_DIGEST_OFFERED = re.compile(r'(?:^|,)\s*digest(?:\s|,|$)', re.IGNORECASE)
"""A challenge of the Digest scheme: at the start of the header or after a comma (not inside a quoted value's words)."""


class _Bearer(AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


KNOWN_LAYOUTS = [
    # (graph store path suffix, update path suffix, query path suffix): the engines' documented defaults
    ("/sparql-graph-crud-auth", "/sparql-auth", "/sparql-auth"),  # Virtuoso (authenticated endpoints)
    ("/sparql-graph-crud", "/sparql", "/sparql"),                 # Virtuoso
    ("/store", "/update", "/query"),                              # Oxigraph server
    ("/data", "/update", "/query"),                               # Apache Jena Fuseki, per dataset
    ("/rdf-graphs/service", "/statements", ""),                   # GraphDB / RDF4J, per repository
]


def _beside(graph_store: str, which: int) -> str | None:
    parts = urlsplit(graph_store)
    path = parts.path.rstrip("/")
    for layout in KNOWN_LAYOUTS:
        if path.endswith(layout[0]):
            return urlunsplit(parts._replace(path=path[: -len(layout[0])] + layout[which], query=""))
    return None


def update_endpoint_for(graph_store: str) -> str | None:
    """The SPARQL Update endpoint beside a Graph Store endpoint, where the engine's layout is known."""
    return _beside(graph_store, 1)


def query_endpoint_for(graph_store: str) -> str | None:
    """The SPARQL query endpoint beside a Graph Store endpoint (the authenticated one on Virtuoso)."""
    return _beside(graph_store, 2)


def ntriples_chunks(groups: Iterable[Iterable[Statement]], chunk_triples: int = CHUNK_TRIPLES,
                    chunk_characters: int = CHUNK_CHARACTERS) -> Iterator[tuple[bytes, int]]:
    """N-Triples text in pieces of at most ``chunk_triples`` triples (and about ``chunk_characters``), each with its count.

    Groups are cut where the count says, not where they end: the last group of a 20,000-competency
    catalogue holds 617,455 triples, and Virtuoso 7.2 never answered that one 100 MB request (twice,
    at the same triple; bench/RESULTS.md) while it took every 100,000-triple chunk in 1.5 s. Cutting
    a group loses nothing: the catalogue has no blank nodes. An Oxigraph term's ``str`` is its
    N-Triples form, as in exports.rdf.write_ntriples.
    """
    lines: list[str] = []
    size = 0
    for group in groups:
        for s, p, o in group:
            line = f"{s} {p} {o} .\n"
            lines.append(line)
            size += len(line)
            if len(lines) >= chunk_triples or size >= chunk_characters:
                yield "".join(lines).encode("utf-8"), len(lines)
                lines, size = [], 0
    if lines:
        yield "".join(lines).encode("utf-8"), len(lines)


def _one_line(text: str, html: bool = False) -> str:
    """An engine's error body as one short line: runs of white space (and an HTML page's tags) go, long text is cut."""
    if html:
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _connection_failure(error: requests.exceptions.ConnectionError) -> str:
    """Why a connection failed, in words: urllib3's text is a repr of nested exception tuples."""
    text = str(error).lower()
    if "aborted" in text or "reset" in text or "remotedisconnected" in text or "broken pipe" in text:
        return "the engine closed the connection without answering"
    return _one_line(str(error))


class GraphStore:
    """One engine's Graph Store and Update endpoints, with the credentials it asks for."""

    def __init__(self, graph_store: str, update: str, credentials: Credentials, session: requests.Session | None = None,
                 query: str | None = None, stall_seconds: float = STALL_SECONDS,
                 stall_seconds_per_triple: float = STALL_SECONDS_PER_TRIPLE):
        self.graph_store = graph_store
        self.update_url = update
        self.query_url = query
        self.credentials = credentials
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy from the environment between us and the engine
        self.auth: AuthBase | None = None
        self.stall_seconds = stall_seconds
        self.stall_seconds_per_triple = stall_seconds_per_triple
        self.notice: Callable[[str], None] | None = None
        """Hears of an upload sent again after a stall (``ckg publish`` prints it with the progress lines)."""

    def connect(self, probe_graph: str) -> None:
        """Reach the engine and settle the authentication scheme before any data is sent.

        An unauthenticated GET of a graph that does not exist yet is harmless; the engine's answer
        tells whether it is there at all and, on 401, which scheme it wants (Digest on Virtuoso).
        """
        response = self._send("GET", self.graph_store, "reach the graph store", params={"graph": probe_graph},
                               headers={"Accept": N_TRIPLES}, check=False)
        if response.status_code == 401:
            if not self.credentials.given:
                raise PublishError(f"the graph store {self.graph_store} asks for credentials: set CKG_STORE_USER and "
                                   "CKG_STORE_PASSWORD (or CKG_STORE_TOKEN) in the environment")
            self.auth = self.credentials.auth_for(response.headers.get("WWW-Authenticate", ""))
            self._send("GET", self.graph_store, "log in to the graph store", params={"graph": probe_graph},
                       headers={"Accept": N_TRIPLES}, check=False, auth_check=True)
        else:
            self.auth = self.credentials.auth_for("basic")  # given credentials go along with every request
            self._raise_for(response, "reach the graph store", ok_statuses=(404,))

    def put(self, graph: str, body: bytes, replace: bool, triples: int = 0) -> None:
        """Upload one chunk; one the engine leaves unanswered is sent again on a new connection (STALL_SECONDS)."""
        what = f"upload into <{graph}>"
        stall = self.stall_seconds + self.stall_seconds_per_triple * triples
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            try:
                self._send("PUT" if replace else "POST", self.graph_store, what, params={"graph": graph}, data=body,
                           headers={"Content-Type": N_TRIPLES}, read_timeout=stall, stalled=True)
                return
            except _Stalled:
                # Closing the session drops the connection the engine left hanging; the next attempt opens a new one.
                self.session.close()
                if self.notice:
                    self.notice(f"the engine did not answer an upload of {triples:,} triples into <{graph}> in "
                                f"{stall:g} s (attempt {attempt} of {UPLOAD_ATTEMPTS})"
                                + ("; sending it again on a new connection" if attempt < UPLOAD_ATTEMPTS else ""))
        raise PublishError(f"cannot {what}: {self.graph_store} did not answer an upload of {triples:,} triples in "
                           f"{stall:g} s, {UPLOAD_ATTEMPTS} times; is the engine overloaded or stalled? (Virtuoso: "
                           "its log says why; README, \"Virtuoso open source\")")

    def run_update(self, update: str, what: str) -> None:
        self._send("POST", self.update_url, what, data={"update": update})

    def select(self, query: str, what: str) -> list[dict[str, str]]:
        """The rows of a SELECT, each variable's value as text."""
        if not self.query_url:
            raise PublishError(f"cannot {what}: no SPARQL query endpoint known for {self.graph_store}: give it with --query URL")
        response = self._send("POST", self.query_url, what, data={"query": query},
                              headers={"Accept": "application/sparql-results+json"})
        try:
            bindings = response.json()["results"]["bindings"]
            return [{name: term["value"] for name, term in row.items()} for row in bindings]
        except (ValueError, KeyError, TypeError):
            raise PublishError(f"cannot {what}: {self.query_url} did not answer with SPARQL JSON results "
                               f"({_one_line(response.text[:200])}); is it the query endpoint?") from None

    def load(self, graph: str, chunks: Iterable[tuple[bytes, int]], label: str, progress: Progress | None,
             started: float) -> int:
        """Upload the chunks into ``graph`` (the first replaces whatever an interrupted load left there)."""
        sent = 0
        for body, count in chunks:
            self.put(graph, body, replace=sent == 0, triples=count)
            sent += count
            if progress:
                progress(label, sent, time.perf_counter() - started)
        if sent == 0:
            raise PublishError("nothing to publish: the graph is empty")
        return sent

    def drop(self, graph: str) -> bool:
        """Drop a graph we loaded; whether that worked (after a failure, the first error is the one to report)."""
        try:
            self.run_update(f"DROP SILENT GRAPH <{graph}>", f"drop <{graph}>")
            return True
        except PublishError:
            return False

    def _send(self, method: str, url: str, what: str, *, check: bool = True, auth_check: bool = False,
              read_timeout: float = READ_TIMEOUT, stalled: bool = False, **kwargs) -> requests.Response:
        """One request; sent again after a deadlock the engine reports (``DEADLOCK_PAUSES``), else ``_request``."""
        for pause in (*DEADLOCK_PAUSES, None):
            response = self._request(method, url, what, read_timeout=read_timeout, stalled=stalled, **kwargs)
            if pause is None or not _deadlocked(response):
                break
            if self.notice:
                self.notice(f"the engine chose our request to {what} as a deadlock's victim ({_one_line(response.text)[:120]}); "
                            f"sending it again in {pause:g} s")
            time.sleep(pause)
        if check or auth_check:
            self._raise_for(response, what, ok_statuses=(404,) if auth_check else ())
        return response

    def _request(self, method: str, url: str, what: str, *, read_timeout: float, stalled: bool,
                 **kwargs) -> requests.Response:
        for attempt in (1, 2):
            try:
                response = self.session.request(method, url, auth=self.auth, timeout=(CONNECT_TIMEOUT, read_timeout),
                                                **kwargs)
                break
            except requests.exceptions.ReadTimeout:
                if stalled:
                    raise _Stalled() from None
                raise PublishError(f"cannot {what}: {url} did not answer in time; is the engine overloaded?") from None
            except requests.exceptions.ConnectionError as error:
                refused = "refused" in str(error).lower()
                if attempt == 1 and not refused:
                    # A kept-alive connection the engine closed (idle timeout, restart) fails the next request
                    # on it. Everything sent here is idempotent on RDF's set semantics (triples without blank
                    # nodes, INSERT DATA, DROP SILENT), so it goes once more, on a new connection.
                    continue
                reason = "connection refused" if refused else _connection_failure(error)
                raise PublishError(f"cannot {what}: {url} does not answer ({reason}); is the engine running, "
                                   "and are the host and port right?") from None
            except requests.exceptions.Timeout:
                raise PublishError(f"cannot {what}: {url} did not answer in time; is the engine overloaded?") from None
            except requests.exceptions.RequestException as error:
                raise PublishError(f"cannot {what}: {url}: {_one_line(str(error))}") from None
        return response

    def _raise_for(self, response: requests.Response, what: str, ok_statuses: tuple[int, ...] = ()) -> None:
        status = response.status_code
        if status < 300 or status in ok_statuses:
            return
        if status in (401, 403):
            raise PublishError(f"cannot {what}: the engine refused the credentials (HTTP {status}); check "
                               "CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN, and that this account may write")
        detail = _one_line(response.text, "html" in response.headers.get("Content-Type", "")) or response.reason
        raise PublishError(f"cannot {what}: the engine answered HTTP {status}: {detail}")


def _deadlocked(response: requests.Response) -> bool:
    """Whether the engine refused the request as a deadlock's victim (the standard SQLSTATE, or Virtuoso's code)."""
    return response.status_code >= 500 and any(code in response.text[:2000] for code in ("40001", "SR172"))


def open_store(graph_store: str, *, update: str | None = None, query: str | None = None,
               credentials: Credentials | None = None) -> GraphStore:
    """Reach the engine and settle its authentication before any data is sent."""
    update = update or update_endpoint_for(graph_store)
    if not update:
        raise PublishError(f"no SPARQL Update endpoint known for {graph_store}: give it with --update URL "
                           "(the records of what is published are small SPARQL updates)")
    store = GraphStore(graph_store, update, credentials or Credentials.from_env(), query=query or query_endpoint_for(graph_store))
    store.connect(f"urn:uuid:{uuid.uuid4()}")
    return store


def check_iri(iri: str, option: str = "--graph") -> None:
    if not _IRI.fullmatch(iri):
        raise PublishError(f"{option} {iri!r} is not an absolute IRI (like https://example.org/graph/current)")


def publish_current(groups: Iterable[Iterable[Statement]], store: GraphStore, current: str, *,
                    chunk_triples: int = CHUNK_TRIPLES, progress: Progress | None = None,
                    notice: Callable[[str], None] | None = None) -> PublishResult:
    """Load the statements into a fresh graph, then make it the one ``current`` points to (exports.publication).

    ``groups`` are the graph's statements (``CatalogueGraph.ordered_groups``). After the switch,
    graphs staged for ``current`` other than the newest two are dropped (their pointer triples first);
    ``notice`` hears of the switch and of each drop, because a drop is not cheap (on Oxigraph it
    took as long as the upload: bench/RESULTS.md).
    """
    check_iri(current)
    started = time.perf_counter()
    store.notice = notice
    staged = store.select(publication.staged_query(current), "read the pointer graph")
    number = 1 + max((int(row["n"]) for row in staged if "n" in row), default=0)
    data = f"urn:uuid:{uuid.uuid4()}"
    store.run_update(publication.staged_update(current, data), "record the new graph in the pointer graph")
    try:
        sent = store.load(data, ntriples_chunks(groups, chunk_triples), "current", progress, started)
        store.run_update(publication.switch_update(current, data, number), f"switch <{current}> to the new graph")
    except PublishError as error:
        if not _forgotten(store, current, data):
            raise PublishError(f"{error}; the new graph <{data}> could not be dropped: drop it with "
                               f"DROP SILENT GRAPH <{data}>") from None
        raise
    except BaseException:  # an interrupt, or a bug: still leave no loaded graph behind if we can
        _forgotten(store, current, data)
        raise
    if notice:
        notice(f"switched <{current}> to <{data}> ({time.perf_counter() - started:.1f} s)")
    _drop_stale(store, current, staged, publication.KEEP - 1, notice)
    return PublishResult(data, sent, time.perf_counter() - started)


def _forgotten(store: GraphStore, current: str, data: str) -> bool:
    try:
        store.run_update(publication.forget_update(current, data), "forget the new graph")
    except PublishError:
        return False
    return store.drop(data)


def _drop_stale(store: GraphStore, current: str, staged: list[dict[str, str]], keep_besides_new: int,
                notice: Callable[[str], None] | None) -> None:
    """Drop what an earlier publish left: graphs older than the kept ones, and loads that never switched."""
    switched = sorted((row for row in staged if "n" in row), key=lambda row: int(row["n"]), reverse=True)
    kept = {row["graph"] for row in switched[:keep_besides_new]}
    for row in staged:
        if row["graph"] not in kept:
            if notice:
                notice(f"dropping the old graph <{row['graph']}>")
            store.run_update(publication.forget_update(current, row["graph"]), "forget an old graph")
            store.run_update(f"DROP SILENT GRAPH <{row['graph']}>", f"drop the old graph <{row['graph']}>")


@dataclass(frozen=True)
class Release:
    """One release folder, checked against its manifest, ready to load under ``base``."""

    version: str
    folder: Path
    written_under: str
    base: str
    sha256: str
    """Of the N-Triples as loaded (rebased to ``base``): the manifest's checksum of catalogue.nt when not rebased."""
    triples: int

    @property
    def iri(self) -> str:
        return f"{self.base}release/{self.version}/"

    def chunks(self, chunk_triples: int = CHUNK_TRIPLES) -> Iterator[tuple[bytes, int]]:
        with (self.folder / "catalogue.nt").open(encoding="utf-8") as handle:
            lines: list[str] = []
            size = 0
            for line in handle:
                if line.strip():
                    lines.append(line)
                    size += len(line)
                if len(lines) >= chunk_triples or size >= CHUNK_CHARACTERS:
                    yield rebase_text("".join(lines), self.written_under, self.base).encode("utf-8"), len(lines)
                    lines, size = [], 0
            if lines:
                yield rebase_text("".join(lines), self.written_under, self.base).encode("utf-8"), len(lines)


def read_release(folder: Path | str, base: str | None = None) -> Release:
    """A release folder's manifest and N-Triples dump, the dump proven to be the one the manifest names."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        meta = manifest["metadata"]
        version, written = meta["version"], meta.get("base") or ""
        listed = next(f for f in manifest["files"] if f["name"] == "catalogue.nt")
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as error:
        raise ReleaseFolderProblem(f"{folder / MANIFEST}: not a readable release manifest with catalogue.nt "
                                   f"({type(error).__name__}: {_one_line(str(error))})") from None
    if parse_version(str(version)) is None:
        raise ReleaseFolderProblem(f"{folder / MANIFEST}: version {version!r} is not a release version like 1.2.3")
    base = base or written
    if not base:
        raise ReleaseFolderProblem(f"{folder / MANIFEST}: no base IRI in the manifest: give it with --base IRI")
    raw, loaded, triples = hashlib.sha256(), hashlib.sha256(), 0
    release = Release(version, folder, written, base, "", 0)
    try:
        with (folder / "catalogue.nt").open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                raw.update(block)
        for body, count in release.chunks():
            loaded.update(body)
            triples += count
    except (OSError, UnicodeDecodeError) as error:
        raise ReleaseFolderProblem(f"{folder / 'catalogue.nt'}: cannot be read ({_one_line(str(error))})") from None
    if raw.hexdigest() != listed.get("sha256"):
        raise ReleaseFolderProblem(f"{folder / 'catalogue.nt'} does not match the SHA-256 in {MANIFEST}: the release "
                                   "was changed after it was made; restore it (releases are immutable)")
    return Release(version, folder, written, base, loaded.hexdigest(), triples)


def release_folders(catalog_dir: Path | str) -> list[Path]:
    """A catalogue's release folders, oldest first (the same folders ontology.releases reads)."""
    root = Path(catalog_dir) / "releases"
    found = [sub for sub in root.iterdir() if sub.is_dir() and not sub.name.startswith(".")
             and parse_version(sub.name) is not None] if root.is_dir() else []
    return sorted(found, key=lambda sub: parse_version(sub.name))


def publish_releases(releases: list[Release], store: GraphStore, *, chunk_triples: int = CHUNK_TRIPLES,
                     progress: Progress | None = None) -> list[PublishResult]:
    """Load every release not yet in the engine into its version graph; refuse them all if one changed.

    The records are compared before anything is uploaded, so a refused publish changes nothing.
    """
    if not releases:
        return []
    rows = store.select(publication.release_records_query([r.iri for r in releases]), "read the release records")
    recorded = {row["release"]: row["sha256"] for row in rows}
    changed = [r for r in releases if recorded.get(r.iri, r.sha256) != r.sha256]
    if changed:
        names = ", ".join(f"{r.version} (<{r.iri}>)" for r in changed)
        raise PublishError(f"release {names} is already in the engine with other content (SHA-256 "
                           f"{recorded[changed[0].iri][:12]}…, here {changed[0].sha256[:12]}…): releases are "
                           "immutable, so it was not replaced; publish the change as a new version")
    results = []
    for release in releases:
        started = time.perf_counter()
        if release.iri in recorded:
            results.append(PublishResult(release.iri, release.triples, 0.0, skipped=True))
            continue
        try:
            sent = store.load(release.iri, release.chunks(chunk_triples), f"release {release.version}", progress, started)
            store.run_update(publication.release_record_update(release.iri, release.sha256, sent),
                             f"record release {release.version}")
        except PublishError as error:
            if not store.drop(release.iri):
                raise PublishError(f"{error}; the partly loaded <{release.iri}> could not be dropped: drop it with "
                                   f"DROP SILENT GRAPH <{release.iri}>") from None
            raise
        except BaseException:
            store.drop(release.iri)
            raise
        results.append(PublishResult(release.iri, sent, time.perf_counter() - started))
    return results


def publish(groups: Iterable[Iterable[Statement]], *, graph_store: str, graph: str, update: str | None = None,
            query: str | None = None, credentials: Credentials | None = None, chunk_triples: int = CHUNK_TRIPLES,
            progress: Progress | None = None) -> PublishResult:
    """Load the statements as the current catalogue named ``graph``: one call for library users and tests."""
    check_iri(graph)
    store = open_store(graph_store, update=update, query=query, credentials=credentials)
    return publish_current(groups, store, graph, chunk_triples=chunk_triples, progress=progress)


_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`]+")
