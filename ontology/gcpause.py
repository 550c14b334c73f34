"""Pausing Python's cycle collector around phases that allocate millions of acyclic objects.

Each full collection walks every live container, and allocating millions of them (statements,
index dictionaries) triggers one collection after another: superlinear time spent looking for
garbage that does not exist, since none of these structures holds a reference cycle.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def cycle_collector_paused(*, freeze_survivors: bool = False) -> Iterator[None]:
    """Run the block without cycle collection; restore the collector's previous state after.

    With ``freeze_survivors``, whatever is alive at the end is moved out of the collector's sight
    for good (``gc.freeze``): later collections, and processes forked later, then leave those
    objects' pages alone instead of touching them (no copy-on-write of the shared graph).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze_survivors:
            gc.freeze()
        if enabled:
            gc.enable()
