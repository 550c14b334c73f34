"""Publish a built graph into any triple store that speaks the standard protocols.

Only two standard protocols are used, so the same code serves Oxigraph server, Virtuoso, Fuseki,
GraphDB or Neptune: the SPARQL 1.1 Graph Store HTTP Protocol to upload, and one SPARQL 1.1 Update
(``MOVE``) to switch.

Readers must never see a half-loaded graph, so the graph is never uploaded where they read it.
It is streamed, in chunks of N-Triples, into a fresh staging graph (``urn:uuid:…``) that nobody
reads; only when every chunk has been accepted does one ``MOVE <staging> TO <target>`` replace the
target graph. How atomic that last step is, is the engine's business: Oxigraph runs an update in
one transaction (readers see the old graph or the new one); Virtuoso runs it in one transaction
too, but its read-committed queries can count a mix while the move commits (README, "Publish into
a triple store"). If anything fails, the staging graph is dropped and the target is left as it was.

Chunks keep the memory bounded (one chunk of text besides the graph itself, never a second copy of
millions of triples), let Digest authentication resend a refused request, and give progress.
"""
from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from ontology.graph import Statement

N_TRIPLES = "application/n-triples"
CHUNK_TRIPLES = 100_000
"""Triples per upload request: ~15 MB of N-Triples, large enough that HTTP costs nothing, small enough for any engine."""
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 3600.0
"""A whole chunk, or the final MOVE of millions of triples, may take minutes on a busy engine."""
MESSAGE_LIMIT = 300


class PublishError(Exception):
    """A failure the user can fix; its message is one line that says what went wrong and what to do."""


@dataclass(frozen=True)
class PublishResult:
    graph: str
    triples: int
    seconds: float


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
        """The scheme the engine asked for in its WWW-Authenticate header (Digest for Virtuoso), else Basic."""
        if self.token:
            return _Bearer(self.token)
        if self.user:
            if challenge.strip().lower().startswith("digest"):
                return HTTPDigestAuth(self.user, self.password or "")
            return HTTPBasicAuth(self.user, self.password or "")
        return None


class _Bearer(AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


KNOWN_LAYOUTS = [
    # (graph store path suffix, update path suffix): the engines' documented default endpoints
    ("/sparql-graph-crud-auth", "/sparql-auth"),  # Virtuoso (authenticated endpoints)
    ("/sparql-graph-crud", "/sparql"),            # Virtuoso
    ("/store", "/update"),                        # Oxigraph server
    ("/data", "/update"),                         # Apache Jena Fuseki, per dataset
    ("/rdf-graphs/service", "/statements"),       # GraphDB / RDF4J, per repository
]


def update_endpoint_for(graph_store: str) -> str | None:
    """The SPARQL Update endpoint beside a Graph Store endpoint, where the engine's layout is known."""
    parts = urlsplit(graph_store)
    path = parts.path.rstrip("/")
    for store_suffix, update_suffix in KNOWN_LAYOUTS:
        if path.endswith(store_suffix):
            return urlunsplit(parts._replace(path=path[: -len(store_suffix)] + update_suffix, query=""))
    return None


def ntriples_chunks(groups: Iterable[Iterable[Statement]], chunk_triples: int = CHUNK_TRIPLES) -> Iterator[tuple[bytes, int]]:
    """N-Triples text in pieces of about ``chunk_triples`` triples, each with its triple count.

    An Oxigraph term's ``str`` is its N-Triples form, as in exports.rdf.write_ntriples.
    """
    lines: list[str] = []
    for group in groups:
        lines.extend(f"{s} {p} {o} .\n" for s, p, o in group)
        if len(lines) >= chunk_triples:
            yield "".join(lines).encode("utf-8"), len(lines)
            lines = []
    if lines:
        yield "".join(lines).encode("utf-8"), len(lines)


def _one_line(text: str, html: bool = False) -> str:
    """An engine's error body as one short line: runs of white space (and an HTML page's tags) go, long text is cut."""
    if html:
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


class GraphStore:
    """One engine's Graph Store and Update endpoints, with the credentials it asks for."""

    def __init__(self, graph_store: str, update: str, credentials: Credentials, session: requests.Session | None = None):
        self.graph_store = graph_store
        self.update_url = update
        self.credentials = credentials
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy from the environment between us and the engine
        self.auth: AuthBase | None = None

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

    def put(self, graph: str, body: bytes, replace: bool) -> None:
        self._send("PUT" if replace else "POST", self.graph_store, f"upload into <{graph}>", params={"graph": graph},
                   data=body, headers={"Content-Type": N_TRIPLES})

    def run_update(self, update: str, what: str) -> None:
        self._send("POST", self.update_url, what, data={"update": update})

    def _send(self, method: str, url: str, what: str, *, check: bool = True, auth_check: bool = False,
              **kwargs) -> requests.Response:
        try:
            response = self.session.request(method, url, auth=self.auth, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
        except requests.exceptions.ConnectionError as error:
            reason = "connection refused" if "refused" in str(error).lower() else _one_line(str(error))
            raise PublishError(f"cannot {what}: {url} does not answer ({reason}); is the engine running, "
                               "and are the host and port right?") from None
        except requests.exceptions.Timeout:
            raise PublishError(f"cannot {what}: {url} did not answer in time; is the engine overloaded?") from None
        except requests.exceptions.RequestException as error:
            raise PublishError(f"cannot {what}: {url}: {_one_line(str(error))}") from None
        if check or auth_check:
            self._raise_for(response, what, ok_statuses=(404,) if auth_check else ())
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


def publish(groups: Iterable[Iterable[Statement]], *, graph_store: str, graph: str, update: str | None = None,
            credentials: Credentials | None = None, chunk_triples: int = CHUNK_TRIPLES,
            progress: Callable[[int, float], None] | None = None) -> PublishResult:
    """Load the statements into ``graph`` on the engine: staged beside it, then switched in one MOVE.

    ``groups`` are the graph's statements (``CatalogueGraph.ordered_groups``); ``progress`` is called
    with the triples sent so far and the seconds elapsed after every chunk.
    """
    if not _IRI.fullmatch(graph):
        raise PublishError(f"--graph {graph!r} is not an absolute IRI (like https://example.org/graph/current)")
    update = update or update_endpoint_for(graph_store)
    if not update:
        raise PublishError(f"no SPARQL Update endpoint known for {graph_store}: give it with --update URL "
                           "(the switch to the new graph is one SPARQL Update MOVE)")
    started = time.perf_counter()
    store = GraphStore(graph_store, update, credentials or Credentials.from_env())
    staging = f"urn:uuid:{uuid.uuid4()}"
    store.connect(staging)
    sent = 0
    try:
        for body, count in ntriples_chunks(groups, chunk_triples):
            store.put(staging, body, replace=sent == 0)
            sent += count
            if progress:
                progress(sent, time.perf_counter() - started)
        if sent == 0:
            raise PublishError("nothing to publish: the graph is empty")
        store.run_update(f"MOVE <{staging}> TO <{graph}>", f"switch <{graph}> to the new graph")
    except PublishError as error:
        if not _dropped(store, staging):
            raise PublishError(f"{error}; the staging graph <{staging}> could not be dropped: drop it with "
                               f"DROP SILENT GRAPH <{staging}>") from None
        raise
    except BaseException:  # an interrupt, or a bug: still leave no staging graph behind if we can
        _dropped(store, staging)
        raise
    return PublishResult(graph, sent, time.perf_counter() - started)


_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`]+")


def _dropped(store: GraphStore, staging: str) -> bool:
    """Leave no staging graph behind after a failure; whether that worked (the first error is the one to report)."""
    try:
        store.run_update(f"DROP SILENT GRAPH <{staging}>", "drop the staging graph")
        return True
    except PublishError:
        return False
