"""Keeping SPARQL query processes off the network, on any Linux host this runs on.

Why two layers: Oxigraph evaluates ``SERVICE`` by opening an HTTP connection itself, and the token
check of :mod:`.safety` is the only thing between a client's text and that code. If the check ever
misses a spelling, the query process must still be unable to connect anywhere.

1. A new, empty network namespace (:func:`isolate_network`): no interface but a loopback that is
   down. Only where the kernel lets the process create one (root, or unprivileged user namespaces).
   Containers without ``CAP_SYS_ADMIN`` usually refuse it.
2. A seccomp filter (:func:`forbid_sockets`), which any process may install on itself once it has
   promised not to gain privileges (``PR_SET_NO_NEW_PRIVS``). It makes ``socket()`` fail with
   ``EPERM`` for every address family but ``AF_UNIX`` (so ``AF_INET``, ``AF_INET6``, ``AF_PACKET``,
   ``AF_NETLINK``… are all out), and ``io_uring_setup`` too (io_uring can create sockets without the
   ``socket`` system call), as well as ``pidfd_getfd``, ``ptrace`` and ``process_vm_writev`` (ways to
   take a socket from, or plant a call in, another process of the same user). Sockets inherited from
   the web worker are closed by the query process itself (:mod:`.pool`). Calls made through another
   system-call ABI than the native one (32-bit ``int 0x80`` on x86-64, whose ``socketcall`` would
   bypass the ``socket`` rule, and the x32 ABI numbers) all fail with ``EPERM``: the filter checks
   the architecture of every call.

The filter is always installed; the namespace is added where possible. A process that cannot install
the filter refuses every query (see :mod:`.pool`), and the service starts with SPARQL disabled.

``CKG_TEST_DISABLE_NETNS=1`` (for tests only) skips the namespace, so a test proves the filter alone
keeps the process off the network; ``CKG_TEST_DISABLE_SECCOMP=1`` (for tests only) pretends the
filter cannot be installed, to test that the service then disables SPARQL. Neither is a setting.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000

# classic BPF opcodes
_LD_W_ABS = 0x20    # BPF_LD | BPF_W | BPF_ABS: A = 32-bit word of seccomp_data at offset k
_JEQ_K = 0x15       # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35       # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06       # BPF_RET | BPF_K

# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; } (little-endian hosts)
_NR, _ARCH, _ARG0_LOW = 0, 4, 16

_AF_UNIX = 1
_X32_SYSCALL_BIT = 0x40000000


@dataclass(frozen=True)
class _Abi:
    """The numbers the filter needs on one architecture (from the kernel's system-call tables)."""

    audit_arch: int
    socket: int
    denied: tuple[int, ...]
    """io_uring_setup (io_uring can open sockets itself), ptrace and process_vm_writev (make another process of
    this user open one), pidfd_getfd (copy an open socket out of another process, such as the web worker)."""
    x32: bool


@functools.lru_cache(maxsize=1)
def _abi() -> _Abi | None:
    """This machine's numbers, if its architecture is supported (x86-64, arm64)."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return _Abi(0xC000003E, socket=41, denied=(425, 101, 311, 438), x32=True)
    if machine in ("aarch64", "arm64"):
        return _Abi(0xC00000B7, socket=198, denied=(425, 117, 271, 438), x32=False)
    return None


def _program(abi: _Abi) -> list[tuple[int, int, int, int]]:
    """The filter, as (code, jt, jf, k) instructions. Jumps count instructions skipped after the current one."""
    deny = _SECCOMP_RET_ERRNO | errno.EPERM
    program = [
        (_LD_W_ABS, 0, 0, _ARCH),
        (_JEQ_K, 1, 0, abi.audit_arch),       # native ABI: go on; any other ABI (int 0x80's socketcall…): refused
        (_RET_K, 0, 0, deny),
        (_LD_W_ABS, 0, 0, _NR),
    ]
    if abi.x32:
        program += [(_JGE_K, 0, 1, _X32_SYSCALL_BIT),  # x32 numbers carry bit 30: refused
                    (_RET_K, 0, 0, deny)]
    n = len(abi.denied)
    program.append((_JEQ_K, n + 1, 0, abi.socket))   # socket(): look at the address family
    for i, number in enumerate(abi.denied):           # each denied call jumps to the deny after the allow
        program.append((_JEQ_K, n - i + 3, 0, number))
    program += [
        (_RET_K, 0, 0, _SECCOMP_RET_ALLOW),   # anything else: allowed
        (_LD_W_ABS, 0, 0, _ARG0_LOW),
        (_JEQ_K, 0, 1, _AF_UNIX),
        (_RET_K, 0, 0, _SECCOMP_RET_ALLOW),   # AF_UNIX: allowed (local pipes, nothing leaves the machine)
        (_RET_K, 0, 0, deny),
    ]
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def forbid_sockets() -> bool:
    """Install the seccomp filter on this thread (and every thread it starts later); ``False`` if impossible.

    Call it while the process is single-threaded: a filter installed with ``prctl`` covers the
    calling thread and its future threads only.
    """
    if os.environ.get("CKG_TEST_DISABLE_SECCOMP") == "1":
        return False
    abi = _abi()
    if abi is None:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    code = b"".join(struct.pack("=HBBI", *instruction) for instruction in _program(abi))
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if prctl(_PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        return False
    return prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) == 0


def isolate_network() -> bool:
    """Move this (single-threaded) process into a new, empty network namespace; ``False`` if not permitted.

    Inside it there is no interface but a loopback that is down, so every ``connect`` fails with
    "network unreachable". Root may create one directly; others need a user namespace first.
    """
    if os.environ.get("CKG_TEST_DISABLE_NETNS") == "1":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    flags = _CLONE_NEWNET if os.geteuid() == 0 else _CLONE_NEWUSER | _CLONE_NEWNET
    return libc.unshare(flags) == 0


def seal() -> tuple[bool, bool]:
    """Both layers, in order (unshare needs a single-threaded process; so does a filter meant for all threads).

    Returns (namespace made, filter installed). Only the filter is required.
    """
    return isolate_network(), forbid_sockets()


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, bool]:
    """Whether a process forked from this one can be sealed: (namespace, filter), tried in a throw-away child.

    Run once at start-up (in gunicorn's master, before any worker), so the service can say what protects
    its query processes — or that it cannot protect them, and SPARQL is off.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            netns, seccomp = seal()
            os.write(write, bytes([netns, seccomp]))
        finally:
            os._exit(0)
    os.close(write)
    try:
        answer = os.read(read, 2)
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    if len(answer) != 2:
        return False, False
    return bool(answer[0]), bool(answer[1])
