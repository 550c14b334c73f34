"""The bounded caches of a site: rendered resource answers (by count) and SPARQL answers (by bytes).

Both live in :class:`service.site.Site`, so they are here, below the blueprints that fill them.

Finished SPARQL answers are kept per worker, so a repeated query costs a dictionary lookup.
The graph never changes while it is served (a reload builds a new Site, and with it a new cache),
so an answer stays right for as long as its site lives. Only complete 200 answers are kept; they
already passed the time and size limits, so serving them again bypasses no safety rule. The cache
is bounded by the bytes it holds and forgets the least recently used answers first.
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable, Generic, Hashable, Protocol, TypeVar

if TYPE_CHECKING:
    from .edge import Rendered

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Answer(Protocol):
    """What the SPARQL answer cache needs of an answer (``service.sparql.execute.Answer``)."""

    status: int
    body: bytes


class Lru(Generic[K, V]):
    """A bounded, thread-safe LRU of values ``make`` computes from a graph that never changes while its site
    lives, so entries never go stale. ``make`` returning None keeps nothing (it is asked again next time)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V | None]) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        made = make()
        if made is None:
            return None
        with self._lock:
            self._entries[key] = made
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return made

    def __len__(self) -> int:
        return len(self._entries)


class RenderCache(Lru[tuple, "Rendered"]):
    """The rendered answers of a site (one resource in one format and language each)."""


def footprint(key: Hashable) -> int:
    """Bytes a cache key holds: the object and the strings and bytes among its fields (a query text may be 1 MB).

    A cache bounded by its answers' bytes alone was grown to gigabytes by thousands of distinct, very long
    queries with tiny answers (``ASK``): the keys are what must be counted then.
    """
    size = sys.getsizeof(key)
    for value in getattr(key, "__dict__", {}).values():
        if isinstance(value, (str, bytes)):
            size += sys.getsizeof(value)
        elif isinstance(value, tuple):
            size += sys.getsizeof(value) + sum(sys.getsizeof(v) for v in value)
    return size


ENTRY_OVERHEAD = 200
"""Bytes an entry costs beyond its key and body: the ordered dict's slot and links, the answer object."""


class AnswerCache:
    """Finished SPARQL answers by job, bounded by the bytes held: keys, bodies and per-entry overhead."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[_Answer, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # gthread workers serve several requests at once

    @property
    def bytes_held(self) -> int:
        return self._bytes

    def get(self, job: Hashable) -> _Answer | None:
        with self._lock:
            entry = self._entries.get(job)
            if entry is None:
                return None
            self._entries.move_to_end(job)
            return entry[0]

    def put(self, job: Hashable, answer: _Answer) -> None:
        if answer.status != 200 or len(answer.body) > self.max_bytes // 4:  # one answer may not flush the rest
            return
        size = len(answer.body) + footprint(job) + ENTRY_OVERHEAD
        if size > self.max_bytes // 4:
            return
        with self._lock:
            if job in self._entries:
                return
            self._entries[job] = (answer, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)
