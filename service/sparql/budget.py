"""The service's memory ceiling, computed from its settings and printed at start-up.

Why a computed figure: an operator sizing a machine (or a container's memory limit) needs one number
that no client can push the service past. Every part that grows with what clients send is bounded by
bytes, so the ceiling is a sum of settings:

- the built site (catalogue graph, Oxigraph store, indexes), measured in gunicorn's master once it is
  built; each worker is forked from it and, at worst, ends up with a private copy of every page;
- per worker: the SPARQL answer cache (keys and answers counted, :class:`service.caches.AnswerCache`);
  the answers in flight (one per slot, held twice: received from the query process, then sent); the
  requests held by the worker until answered (``CKG_REQUEST_BUFFER_MIB``, counted by the event loop of
  :mod:`service.worker`), plus the decoded text of one body per request thread;
- per SPARQL slot: what a query may allocate beyond the store it shares with its worker
  (``CKG_QUERY_MEMORY``, an address-space limit: past it the query process dies and the client gets 503).

Not in the figure: the render cache of resource pages, which is bounded by count
(``CKG_RENDER_CACHE``) and can only hold the catalogue's own pages, whatever clients ask for.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import ServiceConfig
from .pool import sparql_threads
from .protocol import MAX_BODY

MIB = 2**20


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``VmRSS``; 0 where unknown)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class MemoryCeiling:
    """The parts of the ceiling, in bytes, so the start-up line can show how it adds up."""

    site: int
    workers: int
    answer_cache: int
    answers_in_flight: int
    request_bodies: int
    slots: int
    per_query: int

    @property
    def per_worker(self) -> int:
        """What one worker may hold beyond its copy of the site."""
        return self.answer_cache + self.answers_in_flight + self.request_bodies

    @property
    def worker_bound(self) -> int:
        """The most one worker process may grow to: its copy of the site plus its own buffers."""
        return self.site + self.per_worker

    @property
    def total(self) -> int:
        return self.site + self.workers * (self.worker_bound + self.slots * self.per_query)

    def describe(self) -> str:
        def mib(n: int) -> str:
            return f"{n / MIB:,.0f} MiB"
        return (f"memory ceiling {mib(self.total)} = site {mib(self.site)} + {self.workers} worker(s) x "
                f"(site copy {mib(self.site)} + SPARQL cache {mib(self.answer_cache)} + answers in flight "
                f"{mib(self.answers_in_flight)} + request bodies {mib(self.request_bodies)} + {self.slots} "
                f"SPARQL slot(s) x {mib(self.per_query)})")


def memory_ceiling(config: ServiceConfig, site_bytes: int) -> MemoryCeiling:
    """The ceiling for ``config``, given the built site's size (the master's resident memory once built)."""
    threads = max(1, config.threads) + sparql_threads(config.sparql_slots)
    return MemoryCeiling(site=site_bytes, workers=max(1, config.workers),
                         answer_cache=config.answer_cache_mib * MIB,
                         answers_in_flight=config.sparql_slots * 2 * config.max_answer_mib * MIB,
                         request_bodies=config.request_buffer_mib * MIB + threads * MAX_BODY,
                         slots=config.sparql_slots, per_query=config.query_memory * MIB)
