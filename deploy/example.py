"""The replicas example: N ``ckg serve`` replicas behind HAProxy (deploy/haproxy.cfg), all on 127.0.0.1.

    python -m deploy.example                  # two replicas, HAProxy on port 8080; Ctrl-C stops all
    python -m deploy.example --replicas 3 --port 9000 -- --workers 1 CATALOG_DIR
    python -m deploy.example --oxigraph          # replicas read an Oxigraph server (ckg serve --store)
    python -m deploy.example -- --store URL      # replicas read your engine's SPARQL query endpoint

Everything after ``--`` goes to every ``ckg serve``. ``--oxigraph`` starts an Oxigraph server (the
``oxigraph`` PyPI package's binary, in the test extra) on a free port with a throw-away database,
loads the bundled catalogue into it with ``ckg publish``, and starts every replica with
``--store`` pointing at it: no replica holds a catalogue folder. The same code starts the example for the tests
(tests/test_replicas_haproxy.py) and the benchmark (bench/replicas.py), so what they prove is what a
reader runs. Each replica runs in its own process group, as in its own container: ``kill(SIGKILL)``
takes down the master, its workers and their query processes at once, the way a machine or a
container dies; ``kill(SIGTERM)`` is how a process manager stops it (graceful: requests in flight
finish, new ones are refused).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from deploy.procs import answers, stop, wait_until

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).resolve().with_name("haproxy.cfg")
HOST = "127.0.0.1"
STARTUP_LIMIT = 90.0
SERVE_DEFAULTS = ("--sparql-slots", "4")
"""What haproxy.cfg's ``maxconn 16`` assumes (see its comment); the command line puts it before the reader's
own options, so a ``--sparql-slots`` after ``--`` wins."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def haproxy_binary() -> str | None:
    """HAProxy on PATH, or where Debian installs it (/usr/sbin is not on every user's PATH)."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def config_for(replicas: int, template: Path = CONFIG) -> str:
    """deploy/haproxy.cfg with one ``server`` line per replica (the file itself names two)."""
    lines = template.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.strip().startswith("server replica")]
    servers = [f'    server replica{n} "${{CKG_REPLICA_{n}}}"' for n in range(1, replicas + 1)]
    return "\n".join(kept + servers) + "\n"


def _wait(process: subprocess.Popen, url: str, log: Path, what: str) -> None:
    wait_until(process, lambda: answers(url), what, STARTUP_LIMIT, log, every=0.05)


@dataclass
class Replica:
    """One ``ckg serve`` on its own port and in its own process group."""

    name: str
    port: int
    args: Sequence[str]
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    def start(self) -> None:
        """Start (or restart, on the same port) and return once it answers ``/status``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ckg.cli", "serve", "--host", HOST, "--port", str(self.port), *self.args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self.process, self.url + "status", self.log, f"replica {self.name}")

    def kill(self, sig: signal.Signals) -> None:
        """SIGKILL: the whole group dies at once (a crash). Other signals go to the master, as from a process manager."""
        assert self.process is not None
        if sig == signal.SIGKILL:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(sig)

    def wait_stopped(self, limit: float = 30.0) -> int:
        assert self.process is not None
        code = self.process.wait(limit)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # nothing of the group may outlive it
        except (ProcessLookupError, PermissionError):
            pass
        return code

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, group=True)


def oxigraph_binary() -> str | None:
    """The server the ``oxigraph`` PyPI package installs beside our Python (or one on PATH)."""
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


@dataclass
class Oxigraph:
    """An Oxigraph server with a database of its own, loaded with a catalogue by ``ckg publish``."""

    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def query(self) -> str:
        """The SPARQL query endpoint: what ``ckg serve --store`` reads."""
        return f"http://{HOST}:{self.port}/query"

    @property
    def graph_store(self) -> str:
        """The Graph Store Protocol endpoint: what ``ckg publish --graph-store`` writes to."""
        return f"http://{HOST}:{self.port}/store"

    @property
    def log(self) -> Path:
        return self.folder / "oxigraph.log"

    def start(self, catalogue: Path | None = None) -> None:
        """Start the server, then publish ``catalogue`` (the bundled one if None) into it."""
        binary = oxigraph_binary()
        if binary is None:
            raise RuntimeError("the oxigraph server is not installed (pip install oxigraph)")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [binary, "serve", "--location", str(self.folder / "oxigraph-db"), "--bind", f"{HOST}:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        _wait(self.process, self.query + "?query=ASK%20%7B%7D", self.log, "oxigraph server")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CKG_")}
        published = subprocess.run([sys.executable, "-m", "ckg.cli", "publish", "-q", "--graph-store", self.graph_store,
                                    *([str(catalogue)] if catalogue else [])],
                                   cwd=ROOT, env=env, capture_output=True, text=True)
        if published.returncode != 0:
            raise RuntimeError(f"ckg publish into the oxigraph server failed:\n{published.stderr}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, 15, term_group=True)


@dataclass
class Example:
    """HAProxy on ``front`` in front of ``replicas``; ``url`` is what clients use."""

    front: int
    replicas: list[Replica]
    folder: Path
    balancer: subprocess.Popen | None = None
    engine: Oxigraph | None = None
    """The engine the replicas read (``--store``), if the example started one."""
    config: Path = field(init=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.front}/"

    @property
    def log(self) -> Path:
        """HAProxy's standard error: replicas marked down and up again."""
        return self.folder / f"haproxy-{self.front}.log"

    def start_balancer(self) -> None:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (Debian: apt-get install haproxy)")
        self.config = self.folder / f"haproxy-{self.front}.cfg"
        self.config.write_text(config_for(len(self.replicas)), encoding="utf-8")
        env = {**os.environ, "CKG_FRONT": f"{HOST}:{self.front}"}
        env.update({f"CKG_REPLICA_{n}": f"{HOST}:{replica.port}" for n, replica in enumerate(self.replicas, 1)})
        log = self.log
        with open(log, "ab") as out:
            self.balancer = subprocess.Popen([binary, "-f", str(self.config), "-db"], env=env, stdout=out,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self.balancer, self.url + "status", log, "haproxy")

    def stop(self) -> None:
        if self.balancer is not None:
            stop(self.balancer, 5, group=True)
        for replica in self.replicas:
            replica.stop()
        if self.engine is not None:
            self.engine.stop()


@contextmanager
def example(replicas: int = 2, args: Sequence[str] = (), front: int | None = None,
            balancer: bool = True, oxigraph: bool = False) -> Iterator[Example]:
    """Start ``replicas`` replicas (one after the other) and HAProxy; stop everything when the block ends.

    ``oxigraph``: first start an Oxigraph server loaded with the bundled catalogue, and give every
    replica ``--store`` with its query endpoint (``args`` must not name a catalogue folder then)."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ckg-replicas-")))
        engine = Oxigraph(free_port(), folder) if oxigraph else None
        serve_args = (*args, "--store", engine.query) if engine else tuple(args)
        running = Example(front or free_port(),
                          [Replica(f"replica{n}", free_port(), serve_args, folder) for n in range(1, replicas + 1)],
                          folder, engine=engine)
        stack.callback(running.stop)
        if engine is not None:
            engine.start()
        for replica in running.replicas:
            replica.start()
        if balancer:
            running.start_balancer()
        yield running


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.example", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="how many ckg serve replicas (default 2)")
    parser.add_argument("--port", type=int, default=8080, help="HAProxy's port on 127.0.0.1 (default 8080)")
    parser.add_argument("--oxigraph", action="store_true",
                        help="start an Oxigraph server, publish the bundled catalogue into it, serve with --store")
    parser.add_argument("serve_args", nargs="*", help="after --: options and catalogue for every ckg serve")
    options = parser.parse_args(argv)
    if options.replicas < 1:
        parser.error("--replicas must be at least 1")
    try:
        with example(options.replicas, (*SERVE_DEFAULTS, *options.serve_args), options.port,
                     oxigraph=options.oxigraph) as running:
            print(f"HAProxy at {running.url} in front of " +
                  ", ".join(f"{r.name} at {r.url} (pid {r.process.pid})" for r in running.replicas) +
                  (f", reading the oxigraph server at {running.engine.query}" if running.engine else "") +
                  "\nEvery answer names its replica in X-Served-By. Ctrl-C stops all.", flush=True)
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"deploy.example: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
