"""``{base}status``: what a load balancer or a monitor needs to know, answered from memory.

The facts about the graph are made once per loaded catalogue (in gunicorn's master, before the
workers fork, so they share them). What the reloads did comes from a :class:`ReloadBoard`, a small
page of memory the master shares with every worker: a reload that fails (or one still running)
leaves the workers in place, so they cannot learn of it by being forked again. A request does no
work but join the two (the bytes are kept until the board changes). Its ``fingerprint`` is the digest of the graph's canonical N-Triples, so replicas
serving the same content give the same fingerprint whatever their load time.
"""
from __future__ import annotations

import json
import mmap
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask import Blueprint, Flask, Response, current_app

from .engine import shown
from .release_folder import fingerprint
from .site import Site

blueprint = Blueprint("status", __name__)

EXTENSION = "ckg-status"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class ReloadResult:
    """The outcome of the last reload attempt; ``none`` until one is made."""

    result: str = "none"
    at: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"result": self.result, "at": self.at, "problems": self.problems}


class ReloadBoard:
    """The reloads' outcome, written by gunicorn's master and read by every worker it forked.

    An anonymous shared mapping made before the first fork: the master is its only writer, and a
    sequence number that is odd while it writes lets a reader retry a torn read (a seqlock), so no
    lock is shared with the workers. Documents larger than the page lose problems from the end.
    """

    SIZE = 1 << 18
    _HEADER = struct.Struct("<QI")

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, self.SIZE)  # anonymous mappings are MAP_SHARED: forked workers see every write
        self.state = {"last_reload": ReloadResult().as_json(), "reloads": 0, "reloading_since": None}
        self._write()

    def reloading(self) -> None:
        """A rebuild started: monitors see since when the master is busy with it."""
        self.state = {**self.state, "reloading_since": now_iso()}
        self._write()

    def finished(self, result: ReloadResult) -> None:
        self.state = {"last_reload": result.as_json(), "reloads": self.state["reloads"] + 1, "reloading_since": None}
        self._write()

    def _write(self) -> None:
        state = self.state
        data = json.dumps(state, ensure_ascii=False).encode("utf-8")
        problems = list(state["last_reload"]["problems"])
        while len(data) > self.SIZE - self._HEADER.size and problems:
            problems = problems[: len(problems) // 2]
            cut = {**state["last_reload"], "problems": problems + [
                f"... and {len(state['last_reload']['problems']) - len(problems)} more problem(s), in the log"]}
            data = json.dumps({**state, "last_reload": cut}, ensure_ascii=False).encode("utf-8")
        sequence = self._HEADER.unpack_from(self._map, 0)[0]
        self._HEADER.pack_into(self._map, 0, sequence + 1, 0)  # odd: being written
        self._map[self._HEADER.size:self._HEADER.size + len(data)] = data
        self._HEADER.pack_into(self._map, 0, sequence + 2, len(data))

    def read(self) -> tuple[int, dict]:
        """The sequence number and the document; retried while the master is writing it."""
        while True:
            sequence, size = self._HEADER.unpack_from(self._map, 0)
            if sequence % 2 == 0:
                data = bytes(self._map[self._HEADER.size:self._HEADER.size + size])
                if self._HEADER.unpack_from(self._map, 0)[0] == sequence:
                    return sequence, json.loads(data)


@dataclass
class Status:
    """The facts about one loaded catalogue, plus what the reloads did (from the board, when there is one)."""

    facts: dict
    board: ReloadBoard | None = None
    _body: tuple[int, bytes] | None = None

    @classmethod
    def of(cls, site: Site, board: ReloadBoard | None = None, loaded: str | None = None) -> "Status":
        """Computed once: the fingerprint writes the whole graph as N-Triples into a digest."""
        if site.graph is None:  # --store: no graph here; service.store_site's /status asks the engine instead
            reading = site.reading
            return cls(facts={"status": "ok", "base": site.base, "store": shown(site.config.store), "version": None,
                              "graph": reading.graph if reading else None, "follows": reading.follows if reading else None,
                              "triples": 0, "loaded": loaded or now_iso()}, board=board)
        versions = site.archive.versions()
        facts = {
            "status": "ok",
            "base": site.base,
            "version": site.catalogue.version,
            "release": versions[0] if versions else None,
            "triples": len(site.graph),
            "loaded": loaded or now_iso(),
            "fingerprint": "blake2b-128:" + fingerprint(site.graph),
        }
        return cls(facts=facts, board=board)

    def body(self) -> bytes:
        """The JSON bytes; made again only when the board changed."""
        sequence, reloads = (self.board.read() if self.board is not None else
                             (0, {"last_reload": ReloadResult().as_json(), "reloads": 0, "reloading_since": None}))
        if self._body is None or self._body[0] != sequence:
            self._body = (sequence, (json.dumps({**self.facts, **reloads}, ensure_ascii=False, indent=2) + "\n")
                          .encode("utf-8"))
        return self._body[1]


def attach(app: Flask, status: Status) -> None:
    app.extensions[EXTENSION] = status


def status_of(app: Flask) -> Status:
    """The app's status document; an app made without ``ckg serve`` (tests, embedding) makes it on first use."""
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = Status.of(app.extensions["ckg"])
        attach(app, found)
    return found


@blueprint.route("/status")
def status() -> Response:
    response = Response(status_of(current_app).body(), content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
