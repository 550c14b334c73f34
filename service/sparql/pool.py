"""A small pool of pre-forked, killable processes that run SPARQL queries.

Why processes: a query is evaluated inside Oxigraph's native code, which Python cannot interrupt,
so the only way to really stop a runaway query — and free its CPU — is to kill the process running
it. Why pre-forked: forking per request would cost more than most queries; a child forked once
inherits the store (copy-on-write, nothing is reloaded or copied) and then serves query after query
over a pipe, so the fast path costs one round trip of a pickled job and its answer.

Each web worker process owns one pool (created after gunicorn forks it, see :mod:`service.server`,
or lazily on the first query) of ``size`` children: the SPARQL execution slots of that worker,
separate from its request threads. Admission control: a query waits at most ``queue_wait`` seconds
for a free slot, and at most ``WAITING_PER_SLOT`` x ``size`` queries wait at once; any other is
refused at once (503 with ``Retry-After``) instead of queueing behind minutes of work and holding a request thread that a
resource GET needs. The time limit counts from the request's arrival, waiting included. When a
query outlives it, its child is killed (SIGKILL), a fresh one is forked in its place, and the client
gets 503; other requests are served meanwhile by the other children.

Defence in depth (:mod:`.sandbox`): each child installs a seccomp filter that makes every internet
socket impossible, and moves into an empty network namespace where the kernel allows it, so even a
``SERVICE`` the token check missed could not reach the network. A child that cannot install the
filter answers every query with 503 rather than run it unprotected.
"""
from __future__ import annotations

import ctypes
import faulthandler
import logging
import multiprocessing
import os
import queue
import resource
import signal
import stat
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from pyoxigraph import Store

from .execute import Answer, Job, execute
from .sandbox import isolate_network, seal  # noqa: F401 - isolate_network: re-exported for tests

log = logging.getLogger(__name__)

_FORK = multiprocessing.get_context("fork")
WAITING_PER_SLOT = 4
"""Queries that may wait for a slot, per slot. Short queries free a slot in milliseconds: with one waiting
place per slot, 16 clients sending 2 ms queries got 14 % of 503s; with four, none. Longer waits are cut by
the queue wait (1 s), so the line never holds a thread long."""


def sparql_threads(slots: int) -> int:
    """Request threads SPARQL may hold in one worker (running + waiting): the web server adds these to its own."""
    return slots * (1 + WAITING_PER_SLOT)
_PR_SET_PDEATHSIG = 1


def busy(slots: int, queue_wait: float) -> Answer:
    """The 503 for a query that found no free slot (here or, for an engine, in :mod:`.upstream`)."""
    return Answer.error(503, f"all {slots} SPARQL query slots of this server process are busy; the query was "
                             f"not started. Try again in a few seconds.", retry_after=max(1, round(queue_wait)))


def timed_out(timeout: float) -> Answer:
    """The 503 for a query stopped at the time limit (killed here, or its engine request closed)."""
    return Answer.error(503, f"the query ran longer than the {timeout:g} s this endpoint allows and was "
                             f"stopped. Make it more selective (fewer unbound patterns, a FILTER, or "
                             f"LIMIT) and try again.")


def _close_inherited_sockets(keep: int) -> None:
    """Close every socket the fork copied from the web worker but this process's own pipe.

    A query process forked to replace a killed one inherits the worker's listening socket and the
    client connections open at that moment: it must not hold them (a connection would stay open after
    the worker closed it), and an internet socket already made needs no ``socket()`` call to be used.
    """
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd == keep:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            pass


def _die_with_parent() -> None:
    """Ask Linux to kill this child if its parent dies, so no orphan keeps running a query."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def limit_memory(extra_bytes: int) -> None:
    """Let this process allocate at most ``extra_bytes`` beyond what it already maps (0: no limit).

    A query past the limit dies (Oxigraph aborts when an allocation fails) instead of pushing the
    machine into swap or making the kernel's OOM killer pick a victim, maybe the web server itself.
    """
    if extra_bytes <= 0:
        return
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra_bytes, mapped + extra_bytes))


def _child_main(conn: Connection, store: Store, memory_limit: int, parent: int, not_mine: list[Connection]) -> None:
    """The child's loop: read a job, answer it, until the parent closes the pipe.

    ``not_mine`` are the parent's ends of this pipe and of the siblings' pipes, inherited by the
    fork: closed at once, or a parent's death would never reach this child or its siblings as an
    end-of-file on their pipes.
    """
    for inherited in not_mine:
        inherited.close()
    _close_inherited_sockets(keep=conn.fileno())
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        return
    faulthandler.disable()  # a query that runs out of memory aborts: that is expected here, not a crash to dump
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # nor a reason to write the whole store to a core file
    # The web server's signal handlers were inherited by the fork; they make no sense here.
    for signum in (signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                   signal.SIGCHLD, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the parent handles it
    _, sealed = seal()  # while single-threaded: unshare needs it, and the filter then covers every later thread
    try:
        limit_memory(memory_limit)
    except (OSError, ValueError, StopIteration) as error:
        log.warning("cannot limit the memory of SPARQL query processes: %s", error)
    # Oxigraph's random numbers (RAND(), UUID(), STRUUID(), BNODE()) come from a thread-local generator
    # that a fork copies: every child forked from the same worker would draw the same "random" values.
    # A thread started after the fork seeds its own generator from the kernel, so jobs run on one.
    answering = threading.Thread(target=_answer_jobs, args=(conn, store, sealed),
                                 name="ckg-sparql-answer")
    answering.start()
    answering.join()


UNSEALED = ("SPARQL is disabled on this server: its query processes cannot be kept off the network here (the "
            "kernel refused the seccomp filter), and a query could make the server connect to other sites. The "
            "operator must run it on a Linux kernel that allows seccomp filters (x86-64 or arm64).")


def _answer_jobs(conn: Connection, store: Store, sealed: bool) -> None:
    """Read a job, answer it, until the parent closes the pipe; refuse all if the process is not sealed."""
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = execute(store, job) if sealed else Answer.error(503, UNSEALED)
        except Exception as error:  # noqa: BLE001 - report, keep serving
            answer = Answer.error(500, f"the query failed inside the store: {type(error).__name__}: {error}")
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


@dataclass(eq=False)  # compared and hashed by identity: each is one process
class _Child:
    process: multiprocessing.process.BaseProcess
    conn: Connection

    def stop(self) -> None:
        """Kill at once (a query may be running) and reap, so neither CPU nor a zombie is left."""
        self.conn.close()
        self.process.kill()
        self.process.join(5)


class QueryPool:
    """``size`` query processes sharing the store by fork; :meth:`run` answers a job within a time limit."""

    def __init__(self, store: Store, size: int, memory_limit: int = 0, queue_wait: float = 1.0) -> None:
        self._store = store
        self.size = max(1, size)
        self.memory_limit = memory_limit
        """Bytes each query may allocate (0: unlimited)."""
        self.queue_wait = queue_wait
        """Longest wait for a free slot (seconds) before a query is refused with 503."""
        self._waiting = threading.BoundedSemaphore(self.size * WAITING_PER_SLOT)
        """Places in the waiting line: it bounds the request threads SPARQL can hold (see :func:`sparql_threads`)."""
        self.owner = os.getpid()
        self._idle: queue.SimpleQueue[_Child] = queue.SimpleQueue()
        self._children: set[_Child] = set()
        self._lock = threading.Lock()
        for _ in range(self.size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Child:
        parent_end, child_end = _FORK.Pipe(duplex=True)
        with self._lock:
            not_mine = [parent_end, *(child.conn for child in self._children)]
        process = _FORK.Process(target=_child_main, daemon=True, name="ckg-sparql-query",
                                args=(child_end, self._store, self.memory_limit, os.getpid(), not_mine))
        process.start()
        child_end.close()
        child = _Child(process, parent_end)
        with self._lock:
            self._children.add(child)
        return child

    def _replace(self, child: _Child) -> _Child:
        with self._lock:
            self._children.discard(child)
        child.stop()
        return self._spawn()

    def pids(self) -> list[int]:
        """The query processes' ids (for operators and tests)."""
        with self._lock:
            return sorted(child.process.pid for child in self._children)

    def _busy(self) -> Answer:
        return busy(self.size, self.queue_wait)

    def _take_slot(self) -> _Child | None:
        """A free child within ``queue_wait`` seconds, or ``None`` (the waiting line is full, or no slot freed)."""
        if not self._waiting.acquire(blocking=False):
            return None
        try:
            return self._idle.get(timeout=self.queue_wait)
        except queue.Empty:
            return None
        finally:
            self._waiting.release()

    def run(self, job: Job, timeout: float, arrived: float | None = None) -> Answer:
        """The answer to ``job``; 503 if no slot frees within ``queue_wait``, or if the query is not done
        ``timeout`` seconds after ``arrived`` (a ``time.monotonic()`` reading; default: now); it is then killed."""
        deadline = (time.monotonic() if arrived is None else arrived) + timeout
        child = self._take_slot()
        if child is None:
            return self._busy()
        try:
            child.conn.send(job)
            if child.conn.poll(max(0.0, deadline - time.monotonic())):
                return child.conn.recv()
            log.warning("SPARQL query stopped after %.1f s (pid %s): %.200r", timeout, child.process.pid, job.query)
            child = self._replace(child)
            return timed_out(timeout)
        except (EOFError, OSError) as error:
            log.error("SPARQL query process %s died: %s", child.process.pid, error)
            child = self._replace(child)
            allowed = f" ({self.memory_limit // 2**20:,} MB)" if self.memory_limit else ""
            return Answer.error(503, f"the query process stopped while running this query: it most likely needed "
                                     f"more memory than the server allows a query{allowed}. Make the query more "
                                     f"selective, or avoid sorting or grouping very large intermediate results.")
        finally:
            self._idle.put(child)

    def close(self) -> None:
        with self._lock:
            children, self._children = list(self._children), set()
        for child in children:
            child.stop()


_pools: dict[int, QueryPool] = {}
_pools_lock = threading.Lock()


def pool_for(store: Store, size: int, memory_limit: int = 0, queue_wait: float = 1.0) -> QueryPool:
    """This process's pool for ``store`` (a pool inherited through a fork belongs to the parent: make a new one)."""
    key = id(store)
    pool = _pools.get(key)
    if pool is not None and pool.owner == os.getpid():
        return pool
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool.owner != os.getpid():
            pool = _pools[key] = QueryPool(store, size, memory_limit, queue_wait)
    return pool
