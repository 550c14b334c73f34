"""The seccomp filter of the query processes (service.sparql.sandbox), tried in a forked child."""
from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import socket

import pytest

from service.sparql.sandbox import _abi, forbid_sockets

pytestmark = pytest.mark.skipif(_abi() is None, reason=f"no seccomp filter for {platform.machine()}")

DENIED = {"x86_64": {"io_uring_setup": 425, "ptrace": 101, "process_vm_writev": 311, "pidfd_getfd": 438},
          "aarch64": {"io_uring_setup": 425, "ptrace": 117, "process_vm_writev": 271, "pidfd_getfd": 438},
          }.get(platform.machine().lower(), {})
"""The kernel's numbers, written out here (not read from the module under test)."""


def _in_filtered_child() -> dict:
    """Install the filter in a forked child, try every way out, report what happened (errno or 'ok')."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        report: dict = {}
        try:
            report["installed"] = forbid_sockets()
            for name, family, kind in (("inet", socket.AF_INET, socket.SOCK_STREAM),
                                       ("inet6", socket.AF_INET6, socket.SOCK_DGRAM),
                                       ("packet", socket.AF_PACKET, socket.SOCK_RAW),
                                       ("netlink", socket.AF_NETLINK, socket.SOCK_RAW)):
                try:
                    socket.socket(family, kind).close()
                    report[name] = "ok"
                except OSError as error:
                    report[name] = error.errno
            libc = ctypes.CDLL(None, use_errno=True)
            for name, number in DENIED.items():
                ctypes.set_errno(0)
                libc.syscall(number, 0, 0, 0, 0)
                report[name] = ctypes.get_errno()
            a, b = socket.socketpair()  # AF_UNIX stays allowed: the pipe to the web worker is one
            a.close()
            b.close()
            report["unix"] = "ok"
            report["pid"] = os.getpid() == libc.getpid()
        except BaseException as error:  # noqa: BLE001 - report anything
            report["error"] = repr(error)
        finally:
            os.write(write, json.dumps(report).encode())
            os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(data)


def test_no_internet_socket_nor_any_other_way_out_but_local_pipes():
    report = _in_filtered_child()
    assert report["installed"] is True, report
    assert report["inet"] == report["inet6"] == report["packet"] == report["netlink"] == errno.EPERM, report
    assert DENIED and all(report[name] == errno.EPERM for name in DENIED), report
    assert report["unix"] == "ok" and report["pid"] is True, report


def test_the_test_switch_pretends_the_filter_cannot_be_installed(monkeypatch):
    monkeypatch.setenv("CKG_TEST_DISABLE_SECCOMP", "1")
    report = _in_filtered_child()
    assert report["installed"] is False and report["inet"] == "ok"
