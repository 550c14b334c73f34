"""Run a function in a forked child that shares the parent's memory: the big graph is never copied.

Forking is how the compiled SHACL check, the export writers and the check beside ``ckg build``
use the second core: the child sees the built graph (and its frozen objects) as it is, and only
the small result travels back through a pipe. ``InlineCall`` offers the same interface for work
too small to be worth a process, so callers choose once and write their code once.
"""
from __future__ import annotations

import multiprocessing
import traceback
from typing import Any, Callable


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
        self._process = context.Process(target=self._run, args=(sender, function), daemon=True)
        self._process.start()
        sender.close()

    @staticmethod
    def _run(sender, function: Callable[[], Any]) -> None:
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


class InlineCall:
    """The same interface as ForkedCall, running ``function()`` at once in this process."""

    def __init__(self, function: Callable[[], Any], *, failure: type[Exception] = ChildFailed):
        self._value = function()

    def result(self) -> Any:
        return self._value

    def stop(self) -> None:
        """Nothing to stop: the work is already done."""
