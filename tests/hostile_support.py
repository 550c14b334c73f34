"""Helpers of the hostile tests: raw sockets against a real server, and the CPU a process tree uses."""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def connect(url: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(url)), timeout=5)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (gunicorn workers and their SPARQL query processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (gunicorn master, workers, query processes)."""
    return [pid, *descendants(pid)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def cpu_share(pid: int, seconds: float = 2.0) -> float:
    """Cores the whole process tree of ``pid`` kept busy over ``seconds`` (1.0 = one core all the time)."""
    pids = process_tree(pid)
    before = cpu_seconds(pids)
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / seconds


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or ``limit`` s pass), and when the close came."""
    sock.settimeout(0.2)
    data, deadline = b"", time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic()
