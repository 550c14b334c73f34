"""Running one query against the store and writing its answer, inside a query worker process.

This is the code that runs in the killable child processes of :mod:`service.sparql.pool`; it has
no Flask in it. Its answer is always complete and in one piece (status, media type, bytes), so the
parent only relays it.

Result size: the answer is written straight in the format asked for (Oxigraph's writers are fast),
through a :class:`BoundedWriter` that keeps an upper bound of the rows or triples written so far and
stops the writing as soon as that bound passes the limit. Only then is the result counted exactly
(by iterating it again, stopping at limit + 1), so an answer within the limit is never refused and
one above it is never sent — cut or whole: the client is told to page with LIMIT/OFFSET instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from pyoxigraph import NamedNode, QueryBoolean, QuerySolutions, RdfFormat, Store, Triple, serialize

from .formats import NotAcceptable, ResultFormat, choose_format, format_by_media_type


@dataclass(frozen=True)
class Job:
    """One query to run: everything the worker needs, and nothing it would have to look up."""

    query: str
    media_type: str
    """The format chosen before execution (from the query form the lexical scan found)."""
    accept: str | None
    format_param: str | None
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    max_results: int = 10_000
    base_iri: str | None = None
    max_bytes: int = 16 * 2**20
    """Largest answer written (bytes): it travels through a pipe and sits in the web worker until sent."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer in the making: status, ``Content-Type`` and body."""

    status: int
    content_type: str
    body: bytes
    retry_after: int | None = None
    """Seconds after which trying again may succeed (sent as ``Retry-After``), for a refusal that is not the query's fault."""

    @classmethod
    def error(cls, status: int, message: str, retry_after: int | None = None) -> "Answer":
        return cls(status, "text/plain; charset=utf-8", (message.rstrip("\n") + "\n").encode("utf-8"), retry_after)


class _TooLarge(Exception):
    """Raised from inside Oxigraph's writer to stop writing an answer that may exceed the limit."""


class BoundedWriter:
    """A binary sink for Oxigraph's writers that keeps an upper bound of the items written.

    The bound of each chunk is computed on the chunk plus the last bytes of the previous one, so a
    mark split across two chunks is still counted (a mark within those bytes may be counted twice,
    which keeps the count an upper bound).
    """

    _OVERLAP = 8

    def __init__(self, fmt: ResultFormat, limit: int, max_bytes: int | None = None) -> None:
        self._bound = fmt.bound
        self._limit = limit + fmt.header_items
        self._max_bytes = max_bytes
        self._bytes = 0
        self.too_many_bytes = False
        self._count = 0
        self._tail = b""
        self.parts: list[bytes] = []
        self.exceeded = False

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        data = bytes(chunk)
        self._count += self._bound(self._tail + data)
        self._tail = data[-self._OVERLAP:]
        self._bytes += len(data)
        if self._max_bytes is not None and self._bytes > self._max_bytes:
            self.too_many_bytes = self.exceeded = True
            raise _TooLarge()
        if self._count > self._limit:
            self.exceeded = True
            raise _TooLarge()
        self.parts.append(data)
        return len(data)

    def flush(self) -> None:
        """Oxigraph flushes its sink when done; nothing is buffered here."""

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def _run(store: Store, job: Job):
    kwargs = {"base_iri": job.base_iri}
    if job.default_graphs is not None or job.named_graphs is not None:
        kwargs["default_graph"] = [NamedNode(iri) for iri in job.default_graphs or ()]
        kwargs["named_graphs"] = [NamedNode(iri) for iri in job.named_graphs or ()]
    return store.query(job.query, **kwargs)


_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)


def explain_syntax_error(query: str, message: str) -> str:
    """The parser's message with its position and the text of the line it is on.

    Oxigraph lists every character class it expected, which can run to a screenful: the list is cut.
    """
    match = _POSITION.match(message)
    if not match:
        return f"the query is not valid SPARQL 1.1: {message}"
    line, column, detail = int(match.group(1)), int(match.group(2)), " ".join(match.group(3).split())
    if len(detail) > 240:
        detail = detail[:240].rsplit(",", 1)[0] + ", …"
    lines = query.splitlines() or [""]
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    shown = f"\n  line {line}: {text.strip()}" if text.strip() and len(text) < 300 else ""
    return f"the query is not valid SPARQL 1.1: error at line {line}, column {column}: {detail}{shown}"


def too_large(limit: int, graph: bool) -> Answer:
    what = "triples" if graph else "rows"
    return Answer.error(400, f"the answer has more than {limit:,} {what}, the most this endpoint returns at once, "
                             f"so nothing was sent rather than a cut-off answer. Ask for it in pages: add "
                             f"ORDER BY plus LIMIT {limit} OFFSET 0, then OFFSET {limit}, OFFSET {2 * limit}, and so on.")


def too_many_bytes(limit: int) -> Answer:
    return Answer.error(400, f"the answer is larger than {limit / 2**20:g} MiB, the most this endpoint sends at once, "
                             f"so nothing was sent rather than a cut-off answer. Ask for fewer or shorter values, or "
                             f"in pages: ORDER BY plus LIMIT and OFFSET.")


def _count_up_to(results: Iterable, ceiling: int) -> int:
    count = 0
    for _ in results:
        count += 1
        if count >= ceiling:
            break
    return count


def execute(store: Store, job: Job) -> Answer:
    """Run ``job`` on ``store`` and write the whole answer, or say exactly why not.

    Oxigraph reports what it rejects in a query as SyntaxError (parsing) or ValueError/TypeError (an
    invalid IRI in the dataset, a value it cannot evaluate), and the evaluation errors it meets while
    the answer is written (results are lazy) as OSError; all are faults of the request, so all are
    400 with the engine's own message, whether they surface when the query is parsed or later.
    """
    try:
        return write_answer(job, lambda: _run(store, job))
    except SyntaxError as error:
        return Answer.error(400, explain_syntax_error(job.query, str(error)))
    except (ValueError, TypeError) as error:  # e.g. an invalid IRI in default-graph-uri / named-graph-uri
        return Answer.error(400, f"the request cannot be run: {error}")
    except OSError as error:
        return Answer.error(400, f"the query was accepted but the store cannot evaluate it: {error}")


class Triples:
    """A graph answer read back from an engine (parsed N-Triples), written like Oxigraph's own QueryTriples."""

    def __init__(self, triples: Iterable[Triple]) -> None:
        self._triples = triples

    def __iter__(self) -> Iterator[Triple]:
        return iter(self._triples)

    def serialize(self, output, format: RdfFormat) -> None:  # noqa: A002 - the name QueryTriples.serialize uses
        serialize(self._triples, output, format=format)


def write_answer(job: Job, fresh: Callable[[], object]) -> Answer:
    """Write the result ``fresh()`` returns in the job's format, within its row and byte caps.

    ``fresh`` gives the result again each time it is called (run again in the store, or parsed again from an
    engine's answer): counting exactly, when the cheap bound says an answer may be too long, needs a second
    pass. The embedded store and the engines (:mod:`.upstream`) share this code, so an answer within the
    caps is byte for byte the same, and one beyond them is refused with the same message.
    """
    result = fresh()
    fmt = format_by_media_type(job.media_type)
    graph = not isinstance(result, (QuerySolutions, QueryBoolean))
    if graph != isinstance(fmt.oxigraph, RdfFormat):
        # The lexical scan guessed the query form wrong (it only reads the first keyword): negotiate again.
        try:
            fmt = choose_format(graph, job.accept, job.format_param)
        except NotAcceptable as error:
            return Answer.error(406, str(error))
    if isinstance(result, QueryBoolean):
        return Answer(200, fmt.content_type, result.serialize(format=fmt.oxigraph))
    writer = BoundedWriter(fmt, job.max_results, job.max_bytes)
    try:
        result.serialize(writer, format=fmt.oxigraph)
    except Exception:  # noqa: BLE001 - Oxigraph re-raises the writer's exception in its own wrapping
        if not writer.exceeded:
            raise
        if writer.too_many_bytes:
            return too_many_bytes(job.max_bytes)
        if _count_up_to(fresh(), job.max_results + 1) > job.max_results:
            return too_large(job.max_results, graph)
        # Few enough rows after all (the bound over-counted): write it again, still capped in bytes.
        writer = BoundedWriter(fmt, _NO_ROW_LIMIT, job.max_bytes)
        try:
            fresh().serialize(writer, format=fmt.oxigraph)
        except Exception:  # noqa: BLE001 - as above
            if not writer.too_many_bytes:
                raise
            return too_many_bytes(job.max_bytes)
    return Answer(200, fmt.content_type, writer.getvalue())


_NO_ROW_LIMIT = 2**62
