"""Using every core on a large built graph: how many processes, forked helpers, and pausing the GC.

Forking is how the compiled SHACL check, the export writers and the check beside ``ckg build``
use the other cores: the child sees the built graph (and its frozen objects) as it is, and only
the small result travels back through a pipe. Callers hand :func:`side_by_side` the pieces of work
and say whether forking pays; it decides whether it *can* (a helper may not fork helpers of its
own) and falls back to running the pieces one after another, so callers write their code once.

The cycle collector is paused while millions of acyclic objects are allocated, and what survives
is frozen, so later collections, and processes forked later, leave those pages alone.
"""
from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Iterator


def processes(jobs: int | None = None) -> int:
    """The processes to use: ``jobs`` when the user chose, else one per core."""
    return jobs or os.cpu_count() or 1


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this helper when ``parent`` dies, however it dies (Linux; elsewhere nothing).

    A ``kill -9`` of ``ckg export`` otherwise left its forked writers and loader processes running
    as orphans, holding gigabytes and writing into a folder nobody would publish. The check of the
    parent's pid covers a parent that died before the request was made.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:
        os._exit(1)


class ChildFailed(Exception):
    """The function raised in the child, or the child died; the message carries what happened."""


def can_fork() -> bool:
    """Whether this process may fork helpers: the platform must fork, and a helper may not have its own."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


class ForkedCall:
    """``function()`` running in a forked child from the moment this object is made."""

    def __init__(self, function: Callable[[], Any], *, failure: type[Exception] = ChildFailed):
        context = multiprocessing.get_context("fork")
        self._failure = failure
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=self._run, args=(sender, function, os.getpid()), daemon=True)
        self._process.start()
        sender.close()

    @staticmethod
    def _run(sender, function: Callable[[], Any], parent: int) -> None:
        die_with_parent(parent)
        try:
            sender.send(("ok", function()))
        except BaseException as error:  # reported to the parent, which decides what failed
            sender.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
        finally:
            sender.close()

    def result(self) -> Any:
        """The function's return value; raises ``failure`` if it raised or its process died."""
        try:
            status, payload = self._receiver.recv()
        except EOFError:
            raise self._failure("a helper process died") from None
        finally:
            self._process.join()
        if status != "ok":
            raise self._failure(payload)
        return payload

    def stop(self) -> None:
        """End the child early (the work it serves already failed elsewhere) and reap it."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receiver.close()


def side_by_side(here: Callable[[], Any], *others: Callable[[], Any], fork: bool = True,
                 failure: type[Exception] = ChildFailed) -> list[Any]:
    """The results of ``here()`` and of each of ``others()``, in that order.

    With ``fork`` (and where this process may fork) each of ``others`` runs in a forked child while
    ``here`` runs in this process, which may therefore fork helpers of its own; a child's error is
    raised as ``failure``. Otherwise everything runs here, one after another, and errors propagate
    as they are. If anything fails, the children still running are stopped: none goes on writing
    into a folder its caller is about to remove.
    """
    if not (fork and others and can_fork()):
        return [here(), *(other() for other in others)]
    children: list[ForkedCall] = []
    try:
        for other in others:
            children.append(ForkedCall(other, failure=failure))
        first = here()
        return [first, *(child.result() for child in children)]
    except BaseException:
        for child in children:
            child.stop()
        raise


@contextmanager
def cycle_collector_paused(*, freeze_survivors: bool = False) -> Iterator[None]:
    """Run the block without cycle collection; restore the collector's previous state after.

    Each full collection walks every live container, and allocating millions of them (statements,
    index dictionaries) triggers one collection after another, looking for garbage that does not
    exist: none of these structures holds a reference cycle. With ``freeze_survivors``, whatever is
    alive at the end is moved out of the collector's sight for good (``gc.freeze``): later
    collections, and processes forked later, then leave those objects' pages alone instead of
    touching them (no copy-on-write of the shared graph).
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
