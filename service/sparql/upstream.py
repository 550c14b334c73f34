"""Answering SPARQL queries from an engine (``--store URL``) instead of the embedded store, same contract.

Why a module of its own: the blueprint does everything a query needs before it runs (protocol,
safety scan, format negotiation, answer cache) the same way in both modes; only *running* differs.
Embedded, a query runs in a killable process (:mod:`.pool`); here it is sent to the engine's SPARQL
1.1 query endpoint, and everything the engine could do differently is absorbed:

- **parsed, then written as embedded**: the engine is asked for SPARQL results in the client's own
  format where we can read it back (JSON for a JSON client, XML for an XML client), else JSON (CSV and
  TSV clients: CSV cannot be read back into terms), N-Triples for CONSTRUCT/DESCRIBE and XML for ASK
  (Virtuoso's JSON gives ASK as a one-row table; its XML is standard, and :func:`_as_boolean` turns
  the table into a boolean anyway). The answer is read up to a byte bound, parsed by pyoxigraph (Rust)
  and written in the client's format by the same code as embedded (:func:`.execute.write_answer`):
  same bytes, same row and byte caps (counted exactly, never trusting a LIMIT), same refusals. Asking
  for the client's format is what makes the engine do the same work as for a direct client of the same
  format: Oxigraph server writes JSON in ~0.7x the time of XML, Virtuoso the other way round, and a
  fixed format would make our endpoint slower or faster than the engine for reasons of its own.
  Nothing is passed through as the engine wrote it: rewriting costs ~7 ms for a 2,446-row page
  against the engine's 90-180 ms, and buys the embedded bytes (Virtuoso's JSON has other spacing,
  ``typed-literal`` and ``nodeID://`` blank nodes) and caps that cannot be fooled by a missing LIMIT.
- **engine quirks absorbed**: Virtuoso's blank nodes (``nodeID://b1``, not a valid label) are
  relabelled before parsing (:func:`_normalised`); its ``typed-literal`` (SPARQL 1.0 JSON) is read
  as a typed literal by pyoxigraph.
- **the same dataset**: a query that names no graphs (no FROM, no default-graph-uri) is sent with
  ``default-graph-uri`` = the catalogue's graph and ``named-graph-uri`` = ESCO's graph (empty where
  ESCO is not published), which is what the embedded store holds; never the engine's union of every
  graph (releases, staging graphs, Virtuoso's system graphs, other people's data).
- **the time limit cancels**: the request is sent with the time left and read against the deadline;
  at the deadline the connection is closed (the engine sees its client gone), and the client gets the
  embedded 503. Virtuoso is also given ``timeout`` (ms); its "anytime" partial answer (``X-SQL-State:
  S1TAT``) is a 503 too, never served as if complete.
- **never a cut answer**: Virtuoso cuts answers at its ResultSetMaxRows and says so only in an
  ``X-SPARQL-MaxRows`` header: such an answer is refused (too many rows if the cut is above our cap,
  else a 502 telling the operator to raise the engine's setting).
- **errors mapped**: a syntax error is 400 with the engine's message (Oxigraph server's with the
  line of the query, as embedded); an engine down or failing is 502/503 saying so; Virtuoso's 500s
  are read by their SQL state. Only a form POST is sent (Virtuoso hangs on a direct POST).
- **admission** as embedded: ``CKG_SPARQL_SLOTS`` requests at once per worker, at most
  ``WAITING_PER_SLOT`` x slots waiting ``queue_wait`` seconds, else 503 with ``Retry-After``.

The request goes out through the page reader's client (:meth:`service.engine.Engine.exchange`): one
kept-alive connection per thread, the answer read as it comes with each socket read waiting only for the
time left, up to a byte bound. (``requests`` read Oxigraph server's answers a few Python calls per
chunk, ~430 chunks for a 2,000-row page: ~5 of the 9 ms of CPU this endpoint spent per page.)
Credentials come from CKG_STORE_USER/PASSWORD or CKG_STORE_TOKEN and are sent only once the engine asks,
in the scheme its 401 names (HTTP Digest for Virtuoso's ``/sparql-auth``), exactly as the page reader
sends them (``service.engine_auth``); they are never shown: messages name the endpoint without any
user-info, and a refusal says what the page reader says.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Mapping

from pyoxigraph import QueryBoolean, QueryResultsFormat, RdfFormat, Store, parse, parse_query_results

from linking.esco import ESCO_GRAPH

from ..engine import AnswerTooLarge, EngineError, EngineUnreachable, shown
from ..engine import Engine as Client
from ..engine_auth import refusal

from .execute import Answer, Job, Triples, explain_syntax_error, too_large, write_answer
from .pool import WAITING_PER_SLOT, busy, timed_out
from .safety import Inspection

log = logging.getLogger(__name__)

SOLUTIONS_TYPE = "application/sparql-results+xml"
JSON_TYPE = "application/sparql-results+json"
GRAPH_TYPE = "application/n-triples"
READ_FACTOR = 8
"""The engine's answer may be this many times the client's byte cap: XML results spend far more bytes per row
than CSV, so a bound equal to the cap would refuse answers the client's format could carry."""
_READ_BACK = {
    # a results type we ask for, and the media types an engine may label its answer in that format with
    SOLUTIONS_TYPE: (SOLUTIONS_TYPE, "application/xml", "text/xml"),
    JSON_TYPE: (JSON_TYPE, "application/json"),
}
CONNECT_TIMEOUT = 5.0
"""Seconds a connection to the engine may take to open (and never past the query's deadline)."""


@dataclass
class Engine:
    """One engine's query endpoint, its graph, and this worker's admission slots for it."""

    url: str
    graph: str
    slots: int = 2
    queue_wait: float = 1.0
    env: Mapping[str, str] | None = field(default=None, repr=False)
    """Where the credentials are read from (default: ``os.environ``); never shown."""

    def __post_init__(self) -> None:
        self.slots = max(1, self.slots)
        self._running = threading.BoundedSemaphore(self.slots)
        self._waiting = threading.BoundedSemaphore(self.slots * WAITING_PER_SLOT)
        self._client = Client(self.url, timeout=CONNECT_TIMEOUT, env=self.env)

    # ---- admission ----

    def run(self, job: Job, inspection: Inspection, timeout: float, arrived: float | None = None) -> Answer:
        """The answer to ``job`` from the engine, within ``timeout`` seconds of ``arrived`` (monotonic)."""
        deadline = (time.monotonic() if arrived is None else arrived) + timeout
        if not self._waiting.acquire(blocking=False):
            return busy(self.slots, self.queue_wait)
        try:
            if not self._running.acquire(timeout=min(self.queue_wait, max(0.0, deadline - time.monotonic()))):
                return busy(self.slots, self.queue_wait)
        finally:
            self._waiting.release()
        try:
            return self._answer(job, inspection, timeout, deadline)
        finally:
            self._running.release()

    # ---- one request ----

    def _answer(self, job: Job, inspection: Inspection, timeout: float, deadline: float) -> Answer:
        query = job.query
        shifted = 0
        if inspection.relative_iris and job.base_iri:
            query, shifted = f"BASE <{job.base_iri}>\n{query}", 1  # as embedded: the store is given the base
        params: list[tuple[str, str]] = [("query", query)]
        if job.default_graphs is not None or job.named_graphs is not None:
            params += [("default-graph-uri", iri) for iri in job.default_graphs or ()]
            params += [("named-graph-uri", iri) for iri in job.named_graphs or ()]
        elif not inspection.names_dataset:
            # ESCO's graph is named whether the engine holds it or not: naming no graph at all would leave the
            # named graphs to the engine (Virtuoso then offers every graph it has, its own system graphs too).
            params += [("default-graph-uri", self.graph), ("named-graph-uri", ESCO_GRAPH)]
        graph = inspection.returns_graph
        left = deadline - time.monotonic()
        if left <= 0:
            return timed_out(timeout)
        params.append(("timeout", str(max(1, int(left * 1000)))))  # Virtuoso's own limit (ms); others ignore it
        asked = _asked_for(job, inspection)
        max_read = job.max_bytes * READ_FACTOR
        try:
            # a form POST, never a direct one (Virtuoso hangs on it); at the deadline the connection is closed
            answer = self._client.exchange(params, asked, deadline=deadline, limit=max_read)
        except AnswerTooLarge:
            return Answer.error(400, f"the answer is larger than the {max_read / 2**20:g} MiB this endpoint reads "
                                     f"from its engine, so nothing was sent rather than a cut-off answer. Ask for "
                                     f"fewer or shorter values, or in pages: ORDER BY plus LIMIT and OFFSET.")
        except EngineUnreachable as error:
            return self._down(error.reason)
        except EngineError as error:
            return timed_out(timeout) if error.status == 504 else Answer.error(error.status, error.message)
        status, headers, body = answer.status, answer.headers, answer.body
        if status != 200:
            return self._failed(status, body, job.query, shifted, timeout, inspection.form, job.base_iri)
        if headers.get("x-sql-state", "").upper() == "S1TAT":  # Virtuoso's "anytime" answer: partial
            return timed_out(timeout)
        cut = headers.get("x-sparql-maxrows")
        if cut is not None:
            return self._cut(cut, job, graph)
        returned = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if returned in ("application/n-triples", "text/plain", "text/ntriples"):
            fresh = lambda: Triples(list(parse(body, format=RdfFormat.N_TRIPLES)))  # noqa: E731
        elif returned in _READ_BACK[SOLUTIONS_TYPE] or returned in _READ_BACK[JSON_TYPE]:
            results_format = QueryResultsFormat.JSON if returned in _READ_BACK[JSON_TYPE] else QueryResultsFormat.XML
            try:
                body = _normalised(body, results_format)
                if inspection.form == "ASK":
                    body, results_format = _as_boolean(body, results_format), QueryResultsFormat.XML
            except (SyntaxError, ValueError, OSError) as error:
                return self._unreadable(error)
            fresh = lambda: parse_query_results(body, format=results_format)  # noqa: E731
        else:
            return Answer.error(502, f"the SPARQL engine at {shown(self.url)} answered in {returned or 'no format'}, "
                                     f"not the {asked} asked for.")
        try:
            fresh()  # parse once before writing: an engine's broken answer is the engine's fault (502), not the query's
        except (SyntaxError, ValueError, OSError) as error:
            return self._unreadable(error)
        try:
            return write_answer(job, fresh)
        except (SyntaxError, ValueError, OSError) as error:  # results are parsed lazily: a fault further down
            return self._unreadable(error)

    def _unreadable(self, error: Exception) -> Answer:
        return Answer.error(502, f"the SPARQL engine at {shown(self.url)} sent an answer that cannot be read: "
                                 f"{_one_line(str(error))}")

    def _down(self, reason: str) -> Answer:
        log.warning("SPARQL engine %s: %s", shown(self.url), reason)
        return Answer.error(502, f"the SPARQL engine behind this endpoint ({shown(self.url)}) is not answering "
                                 f"({reason}); nothing was run. Try again later; if it lasts, the operator must "
                                 f"check the engine.", retry_after=5)

    def _cut(self, cut: str, job: Job, graph: bool) -> Answer:
        try:
            rows = int(cut)
        except ValueError:
            rows = -1
        if rows > job.max_results:
            return too_large(job.max_results, graph)
        return Answer.error(502, f"the SPARQL engine cut this answer at its own limit of {cut} rows (Virtuoso's "
                                 f"ResultSetMaxRows), so nothing was sent rather than a cut-off answer. The operator "
                                 f"must raise that setting above this endpoint's {job.max_results:,}.")

    def _failed(self, status: int, body: bytes, query: str, shifted: int, timeout: float, form: str | None,
                base_iri: str | None) -> Answer:
        text = body[:4000].decode("utf-8", "replace")
        message = _clean(text, shifted)
        if status == 400 or (status == 500 and _VIRTUOSO_QUERY_ERROR.search(text)):
            if _VIRTUOSO_TIMEOUT.search(text):
                return timed_out(timeout)
            return Answer.error(400, _explain(query, message, form, base_iri))
        if status == 500 and _VIRTUOSO_TIMEOUT.search(text):
            return timed_out(timeout)
        if status in (401, 403, 407):
            return Answer.error(502, refusal(shown(self.url), status, self._client.signs_in) + ".")
        if status in (502, 503, 504):
            return Answer.error(503, f"the SPARQL engine behind this endpoint is unavailable (HTTP {status}): "
                                     f"{message or 'no reason given'}. Try again later.", retry_after=5)
        return Answer.error(502, f"the SPARQL engine behind this endpoint failed on this query (HTTP {status}): "
                                 f"{message or 'no reason given'}")


_VIRTUOSO_PREFIX = re.compile(r"^\s*Virtuoso\s+\S+\s+Error\s+(\S+?):?\s+", re.IGNORECASE)
_VIRTUOSO_QUERY_ERROR = re.compile(r"Virtuoso\s+(37000|22023|22007|22005|42000|S0022|42S22)\s+Error")
_VIRTUOSO_TIMEOUT = re.compile(r"Virtuoso\s+S1T00\s+Error")
_OXIGRAPH_POSITION = re.compile(r"^error at (\d+):(\d+): ")


def _asked_for(job: Job, inspection: Inspection) -> str:
    """The media type to ask the engine for: the client's own where we read it back, else JSON (see the module doc)."""
    if inspection.returns_graph:
        return GRAPH_TYPE
    if inspection.form == "ASK":
        return SOLUTIONS_TYPE
    return SOLUTIONS_TYPE if job.media_type == SOLUTIONS_TYPE else JSON_TYPE


_JSON_BNODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')
_JSON_BNODE_AFTER = re.compile(rb'("value"\s*:\s*")nodeID://([^"]*"\s*,\s*"type"\s*:\s*"bnode")')


def _normalised(body: bytes, results_format: QueryResultsFormat) -> bytes:
    """The engine's results with Virtuoso's blank nodes relabelled: ``nodeID://b1`` is not a valid label.

    Only a blank node's own value is touched: in XML it is the text right after ``<bnode>`` (text cannot hold a
    raw ``<``); in JSON the string after a ``"type": "bnode"`` key or before one (a string cannot hold a raw
    ``"``, so the pattern cannot match inside a literal).
    """
    if b"nodeID://" not in body:
        return body
    if results_format == QueryResultsFormat.XML:
        return body.replace(b"<bnode>nodeID://", b"<bnode>")
    body = _JSON_BNODE.sub(rb"\1", body)
    return _JSON_BNODE_AFTER.sub(rb"\1\2", body)


def _as_boolean(body: bytes, results_format: QueryResultsFormat = QueryResultsFormat.XML) -> bytes:
    """An ASK answer as SPARQL's boolean result (XML): Virtuoso may send a one-row table (``__ASK_RETVAL`` = 1 or 0)."""
    result = parse_query_results(body, format=results_format)
    if isinstance(result, QueryBoolean):
        return result.serialize(format=QueryResultsFormat.XML) if results_format != QueryResultsFormat.XML else body
    rows = list(result)
    value = rows[0][0].value if rows and len(rows[0]) and rows[0][0] is not None else "0"
    truth = "false" if value in ("0", "false") else "true"
    return (f'<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
            f'<boolean>{truth}</boolean></sparql>').encode()


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def _clean(text: str, shifted: int) -> str:
    """The engine's message without Virtuoso's error code and echo of the query, lines counted as the client's."""
    text = text.split("\n\nSPARQL query:", 1)[0]
    text = _VIRTUOSO_PREFIX.sub("", text).strip()
    if shifted:
        text = _OXIGRAPH_POSITION.sub(lambda m: f"error at {int(m.group(1)) - shifted}:{m.group(2)}: ", text)
        text = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) - shifted}", text)
    return text


def _explain(query: str, message: str, form: str | None, base_iri: str | None) -> str:
    """The embedded message where the embedded parser finds the error too, else the engine's, cleaned.

    Parsing in an empty in-memory store only parses: SELECT, CONSTRUCT and DESCRIBE results are lazy and
    are dropped unread. (ASK is evaluated at once, so it is not tried.)
    """
    if form != "ASK":
        try:
            Store().query(query, base_iri=base_iri)
        except SyntaxError as error:
            return explain_syntax_error(query, str(error))
        except Exception:  # noqa: BLE001 - anything else: the engine's own message is the better one
            pass
    if _OXIGRAPH_POSITION.match(message):
        return explain_syntax_error(query, message)
    return f"the query is not valid SPARQL 1.1: {_one_line(message)}"


_engines: dict[tuple, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(url: str, graph: str, slots: int, queue_wait: float) -> Engine:
    """This process's :class:`Engine` for these settings (admission slots are per worker process, as embedded)."""
    key = (os.getpid(), url, graph, slots, queue_wait)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = Engine(url, graph, slots, queue_wait)
    return engine


