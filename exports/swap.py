"""Put a finished export folder in place of the old one so the target always holds a whole export.

(``ckg build -o FILE`` uses the same lock and clearing for its temporary file; a file is replaced
by one rename, which needs no exchange.)

Two renames (old out of the way, new in) leave a moment with no folder at all, and a kill at that
moment left the old and the new export both parked under hidden names. Linux swaps two directories
in one step with ``renameat2(RENAME_EXCHANGE)`` (through ctypes: Python has no binding), after which
the staging name holds the old export and is removed. Where the call or the filesystem lacks it
(other systems, some network filesystems), the two renames are the fallback, and the next run puts
a parked old export back if a kill came between them.

Whatever a killed run leaves behind — a staging folder (complete or not), a parked old export — is
recognised by its name and cleared by the next run, under a lock on the target, so a run never
removes the staging folder of another run still at work. Set ``CKG_TEST_KILL_AT`` to one of
:data:`KILL_POINTS` and the process kills itself (SIGKILL) there: the tests use it to prove the
target survives a kill at every step.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

STAGING_SUFFIX = ".tmp"
PARKED_SUFFIX = ".old"
KILL_POINTS = ("staged", "written", "parked", "swapped")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}

try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    _renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
except (OSError, AttributeError):  # not Linux, or a C library older than glibc 2.28
    _renameat2 = None
exchange_supported = _renameat2 is not None
"""Whether this process may try the atomic exchange (tests turn it off to cover the fallback)."""


def kill_point(step: str) -> None:
    """Die here, as a ``kill -9`` would, if ``CKG_TEST_KILL_AT`` names ``step`` (tests only)."""
    if os.environ.get("CKG_TEST_KILL_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _hidden(out_dir: Path, suffix: str) -> str:
    return f".{out_dir.name}.*{suffix}"


@contextmanager
def exclusive(out_dir: Path) -> Iterator[None]:
    """Hold the lock of the folder that holds ``out_dir``: one export there at a time.

    The lock is taken on the parent folder itself, so no lock file is left lying about; the kernel
    drops it when its holder dies, however it dies, so a killed run never blocks the next one.
    """
    handle = os.open(out_dir.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def clear_leftovers(out_dir: Path) -> list[Path]:
    """Remove what killed runs left beside ``out_dir``; put back a parked export if the target is missing.

    Call with :func:`exclusive` held. Returns the paths removed or restored.
    """
    handled: list[Path] = []
    parked = sorted(out_dir.parent.glob(_hidden(out_dir, PARKED_SUFFIX)), key=lambda p: p.stat().st_mtime)
    if parked and not out_dir.exists():  # killed between the fallback's two renames: the old export is whole
        parked.pop().rename(out_dir)
        handled.append(out_dir)
    for leftover in [*parked, *out_dir.parent.glob(_hidden(out_dir, STAGING_SUFFIX))]:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:  # the temporary file of a killed 'ckg build -o' (a link is removed, never followed)
            leftover.unlink(missing_ok=True)
        handled.append(leftover)
    return handled


def staging_folder(out_dir: Path) -> Path:
    """A fresh hidden folder beside ``out_dir`` (same filesystem, so the swap is a rename)."""
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=STAGING_SUFFIX, dir=out_dir.parent))


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one step; False where this system or filesystem cannot."""
    if not exchange_supported or _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(second))


def swap_in(staging: Path, out_dir: Path) -> None:
    """Make ``staging`` the folder ``out_dir``; the old export is removed once the new one is in place."""
    os.chmod(staging, 0o755)
    if not out_dir.exists():
        staging.rename(out_dir)  # nothing to keep whole: one rename
        return
    if _exchange(staging, out_dir):
        kill_point("swapped")
        shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old export
        return
    parked = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=PARKED_SUFFIX, dir=out_dir.parent))
    parked.rmdir()
    out_dir.rename(parked)
    try:
        kill_point("parked")
        staging.rename(out_dir)
    except BaseException:
        parked.rename(out_dir)
        raise
    shutil.rmtree(parked, ignore_errors=True)
