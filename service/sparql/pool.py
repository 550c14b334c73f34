"""A small pool of pre-forked, killable processes that run SPARQL queries.

Why processes: a query is evaluated inside Oxigraph's native code, which Python cannot interrupt,
so the only way to really stop a runaway query — and free its CPU — is to kill the process running
it. Why pre-forked: forking per request would cost more than most queries; a child forked once
inherits the store (copy-on-write, nothing is reloaded or copied) and then serves query after query
over a pipe, so the fast path costs one round trip of a pickled job and its answer.

Each web worker process owns one pool (created after gunicorn forks it, see :mod:`service.server`,
or lazily on the first query): one child per request thread, so a request never waits for another's
query. When a query outlives its time limit, its child is killed (SIGKILL), a fresh one is forked in
its place, and the client gets 503; other requests are served meanwhile by the other children.

Defence in depth: each child moves itself into an empty network namespace when the kernel allows it
(Linux user namespaces), so even a ``SERVICE`` the lexical check missed could not reach the network.
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
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection

from pyoxigraph import Store

from .execute import Answer, Job, execute

log = logging.getLogger(__name__)

_FORK = multiprocessing.get_context("fork")
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1


def isolate_network() -> bool:
    """Move this (single-threaded) process into a new, empty network namespace; ``False`` if not permitted.

    Inside it there is no interface but a loopback that is down, so every ``connect`` fails with
    "network unreachable". Root may create one directly; others need a user namespace first.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    return libc.unshare(flags) == 0


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
    isolate_network()
    try:
        limit_memory(memory_limit)
    except (OSError, ValueError, StopIteration) as error:
        log.warning("cannot limit the memory of SPARQL query processes: %s", error)
    # Oxigraph's random numbers (RAND(), UUID(), STRUUID(), BNODE()) come from a thread-local generator
    # that a fork copies: every child forked from the same worker would draw the same "random" values.
    # A thread started after the fork seeds its own generator from the kernel, so jobs run on one.
    answering = threading.Thread(target=_answer_jobs, args=(conn, store), name="ckg-sparql-answer")
    answering.start()
    answering.join()


def _answer_jobs(conn: Connection, store: Store) -> None:
    """Read a job, answer it, until the parent closes the pipe."""
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = execute(store, job)
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

    def __init__(self, store: Store, size: int, memory_limit: int = 0) -> None:
        self._store = store
        self.size = max(1, size)
        self.memory_limit = memory_limit
        """Bytes each query may allocate (0: unlimited)."""
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

    def run(self, job: Job, timeout: float) -> Answer:
        """The answer to ``job``, or 503 if it takes longer than ``timeout`` seconds (the query is then killed)."""
        child = self._idle.get()
        try:
            child.conn.send(job)
            if child.conn.poll(timeout):
                return child.conn.recv()
            log.warning("SPARQL query stopped after %.1f s (pid %s): %.200r", timeout, child.process.pid, job.query)
            child = self._replace(child)
            return Answer.error(503, f"the query ran longer than the {timeout:g} s this endpoint allows and was "
                                     f"stopped. Make it more selective (fewer unbound patterns, a FILTER, or "
                                     f"LIMIT) and try again.")
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


def pool_for(store: Store, size: int, memory_limit: int = 0) -> QueryPool:
    """This process's pool for ``store`` (a pool inherited through a fork belongs to the parent: make a new one)."""
    key = id(store)
    pool = _pools.get(key)
    if pool is not None and pool.owner == os.getpid():
        return pool
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool.owner != os.getpid():
            pool = _pools[key] = QueryPool(store, size, memory_limit)
    return pool
