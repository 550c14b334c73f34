"""Finished SPARQL answers kept per worker, so a repeated query costs a dictionary lookup.

The graph never changes while it is served (a reload builds a new Site, and with it a new cache),
so an answer stays right for as long as its site lives. Only complete 200 answers are kept; they
already passed the time and size limits, so serving them again bypasses no safety rule. The cache
is bounded by the bytes it holds and forgets the least recently used answers first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from .execute import Answer, Job


class AnswerCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Job, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # gthread workers serve several requests at once

    def get(self, job: Job) -> Answer | None:
        with self._lock:
            answer = self._entries.get(job)
            if answer is not None:
                self._entries.move_to_end(job)
            return answer

    def put(self, job: Job, answer: Answer) -> None:
        size = len(answer.body)
        if answer.status != 200 or size > self.max_bytes // 4:  # one answer may not flush the rest
            return
        with self._lock:
            if job in self._entries:
                return
            self._entries[job] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)
