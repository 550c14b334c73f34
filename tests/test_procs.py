"""deploy/procs.py, which the example, the tests and the benchmarks use to wait for and stop their servers.

What each copy it replaced got wrong once: a server that ignores SIGTERM was waited for and never killed,
a worker that outlived its master kept the port, a server that died at start-up was waited for until
the time limit.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.procs import answers, stop, wait_until

IGNORES_SIGTERM = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"


def running_in_group(pgid: int) -> list[int]:
    """Processes of the group that still run (a killed orphan may stay a zombie until init reaps it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (name)": state, ppid, pgrp, ...
        if entry.name.isdigit() and int(fields[2]) == pgid and fields[0] not in "ZX":
            found.append(int(entry.name))
    return found


def gone(pgid: int, patience: float = 10.0) -> bool:
    """Whether the group has no running process, allowing the kernel time to deliver SIGKILL (not a speed check)."""
    deadline = time.monotonic() + patience
    while running_in_group(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running_in_group(pgid)


def ready(process: subprocess.Popen) -> None:
    assert process.stdout.readline().strip() == b"ready"  # its handler is in place before it is stopped


def test_stop_kills_what_ignores_sigterm_once_the_grace_is_over():
    process = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE)
    ready(process)
    assert stop(process, grace=0.5) == -signal.SIGKILL


LEADER = (f"import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', {IGNORES_SIGTERM!r}], "
          "stdout=subprocess.PIPE); child.stdout.readline(); print('ready', flush=True); time.sleep(60)")
"""Stops on SIGTERM; its child ignores SIGTERM, as a worker that lingers after its master."""


def test_stop_of_a_group_leaves_no_process_of_it_behind():
    process = subprocess.Popen([sys.executable, "-c", LEADER], stdout=subprocess.PIPE, start_new_session=True)
    ready(process)
    assert stop(process, grace=5, group=True) == -signal.SIGTERM  # the leader took the polite way
    assert gone(process.pid), running_in_group(process.pid)


def test_without_group_only_the_process_itself_is_stopped():
    """A gunicorn master stops its own workers; stop() must not kill them under it unless asked to."""
    process = subprocess.Popen([sys.executable, "-c", LEADER], stdout=subprocess.PIPE, start_new_session=True)
    ready(process)
    try:
        assert stop(process, grace=5) == -signal.SIGTERM
        assert running_in_group(process.pid), "the child was killed too"
    finally:
        os.killpg(process.pid, signal.SIGKILL)


def test_wait_until_says_at_once_that_the_process_exited(tmp_path: Path):
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", "import sys; print('port already in use'); sys.exit(3)"],
                                   stdout=out, stderr=subprocess.STDOUT)
    with pytest.raises(RuntimeError) as raised:
        wait_until(process, lambda: False, "the server", limit=30, log=log)
    assert "the server exited with 3 before answering" in str(raised.value)
    assert "port already in use" in str(raised.value)  # the log's tail, so the reader sees why


def test_wait_until_gives_up_at_the_limit_on_a_live_process():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(RuntimeError, match="did not answer within 0.3 s"):
            wait_until(process, lambda: False, "the server", limit=0.3, every=0.05)
    finally:
        stop(process)


def test_answers_is_false_for_a_closed_port_and_true_for_a_server(live_server):
    assert answers(live_server + "status")
    assert not answers(live_server + "no-such-page")  # 404 is not ready
    assert not answers("http://127.0.0.1:9/")  # discard port: nothing listens
