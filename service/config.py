"""Service settings, declared once: each field of :class:`ServiceConfig` is one row of the table.

A row says the setting's name, environment variable, default, type and help. ``ServiceConfig.from_env``
reads the environment through it, and ``ckg serve`` makes one command-line option per row from it
(:data:`SETTINGS`), so a setting added here is an option, a variable and a line of ``--help`` at once.
Nothing here imports the command line: the defaults both need live below it (``catalog``).
"""
from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable, get_type_hints

from catalog import bundled_catalog


def _setting(default: Any, env: str, help: str, *, minimum: float | None = None, maximum: float | None = None,
             metavar: str | None = None, shown: str | None = None, option: str | None = None,
             short: str | None = None) -> Any:
    """One row of the settings table, as a dataclass field; ``default`` may be a function (computed per use).

    ``shown`` is the default as ``--help`` says it when the value itself would mislead (a computed
    or absent default); ``option=""`` keeps a setting off the command line (``catalog_dir`` is the
    argument of ``ckg serve``, not an option).
    """
    metadata = {"env": env, "help": help, "minimum": minimum, "maximum": maximum, "metavar": metavar,
                "shown": shown, "option": option, "short": short}
    if callable(default):
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


class SettingError(ValueError):
    """A setting's value (from the environment) that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    """A row of the table, read from :class:`ServiceConfig`'s fields for the command line and ``from_env``."""

    name: str
    env: str
    type: Callable[[str], Any]
    help: str
    default: Any
    minimum: float | None
    maximum: float | None
    metavar: str | None
    shown: str | None
    option: str | None
    short: str | None

    def default_value(self) -> Any:
        return self.default() if callable(self.default) else self.default

    def parse(self, raw: str) -> Any:
        """``raw`` (text from the environment) as this setting's type, inside its bounds."""
        try:
            value = self.type(raw)
        except ValueError:
            raise SettingError(f"${self.env}={raw!r} is not a valid {self.type.__name__}") from None
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            bounds = f"from {self.minimum:g}" + (f" to {self.maximum:g}" if self.maximum is not None else "")
            raise SettingError(f"${self.env}={raw!r} is out of range: use a value {bounds}")
        return value

    def from_env(self) -> Any:
        """The environment's value (an empty variable counts as unset), else the default."""
        raw = os.environ.get(self.env)
        return self.parse(raw) if raw else self.default_value()


def _cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class ServiceConfig:
    """Everything the app needs to know; ``from_env`` reads the CKG_* variables named in each row."""

    catalog_dir: str = _setting(bundled_catalog, "CKG_CATALOG", "The catalogue folder to serve.",
                                shown="the bundled catalogue", option="")
    base: str | None = _setting(None, "CKG_BASE", "Base IRI of the catalogue's IRIs.", metavar="IRI",
                                shown="the catalogue's own")
    host: str = _setting("127.0.0.1", "CKG_HOST", "Interface to listen on; 0.0.0.0 to serve other machines.")
    port: int = _setting(8000, "CKG_PORT", "TCP port.", minimum=1, maximum=65535, short="-p")
    workers: int = _setting(_cpu_count, "CKG_WORKERS", "gunicorn worker processes (each with its own SPARQL "
                            "query processes).", minimum=1, shown="one per CPU core", short="-w")
    threads: int = _setting(4, "CKG_THREADS", "Request threads per worker for resources, downloads and health "
                            "checks; SPARQL gets its own 5 x CKG_SPARQL_SLOTS threads on top.", minimum=1)
    query_timeout: float = _setting(10.0, "CKG_QUERY_TIMEOUT", "Time limit of one SPARQL query; past it the query is "
                                    "killed and the client gets 503.", minimum=0.1, metavar="SECONDS")
    max_results: int = _setting(10_000, "CKG_MAX_RESULTS", "Most rows (SELECT) or triples (CONSTRUCT/DESCRIBE) one "
                                "SPARQL answer may have; larger answers are refused, never cut.", minimum=1)
    query_memory: int = _setting(512, "CKG_QUERY_MEMORY", "Megabytes one SPARQL query may allocate beyond the shared "
                                 "store; past it the query is stopped and the client gets 503 (0: no limit).",
                                 minimum=0, metavar="MB")
    sparql_slots: int = _setting(2, "CKG_SPARQL_SLOTS", "SPARQL queries one worker runs at once (its query "
                                 "processes), apart from the request threads; 4 x as many may wait for a slot.",
                                 minimum=1)
    sparql_queue_wait: float = _setting(1.0, "CKG_SPARQL_QUEUE_WAIT", "Longest wait for a free SPARQL slot; past it "
                                        "(or when as many queries already wait) the client gets 503 with "
                                        "Retry-After.", minimum=0.0, maximum=10.0, metavar="SECONDS")
    max_answer_mib: int = _setting(16, "CKG_SPARQL_MAX_ANSWER_MIB", "Largest SPARQL answer sent (MiB); larger ones "
                                   "are refused with 400, never cut.", minimum=1, metavar="MIB",
                                   option="--sparql-max-answer-mib")
    esco: str | None = _setting(None, "CKG_ESCO", "An ESCO import (`ckg esco import … --out FILE`) to serve as "
                                "ESCO's named graph.", metavar="FILE", shown="none")
    page_size: int = _setting(100, "CKG_PAGE_SIZE", "Items per page of a listing.", minimum=1)
    render_cache_size: int = _setting(20_000, "CKG_RENDER_CACHE", "Rendered resource answers kept in memory per "
                                      "worker (one resource in one format and language each).", minimum=0,
                                      option="--render-cache")
    answer_cache_mib: int = _setting(64, "CKG_SPARQL_CACHE_MIB", "Megabytes of finished SPARQL answers kept per "
                                     "worker, so repeated queries are served from memory.", minimum=0, metavar="MIB",
                                     option="--sparql-cache-mib")
    request_timeout: float = _setting(10.0, "CKG_REQUEST_TIMEOUT", "Time a client has to send a whole request (head "
                                      "and body) once it has begun; past it the client gets 408 and is "
                                      "disconnected. Requests are read without holding a request thread.",
                                      minimum=0.1, metavar="SECONDS")
    send_timeout: float = _setting(30.0, "CKG_SEND_TIMEOUT", "Longest time sending an answer may make no progress "
                                   "(the client does not read); then the connection is closed and its thread "
                                   "freed.", minimum=0.1, metavar="SECONDS")
    keepalive: int = _setting(5, "CKG_KEEPALIVE", "Whole seconds an idle connection is kept open for its next "
                                "request.", minimum=1, metavar="SECONDS")
    max_head_bytes: int = _setting(65_536, "CKG_MAX_HEAD", "Largest request head (request line and headers) in "
                                   "bytes; larger ones get 431 (a request line over 8,190 bytes gets 414).",
                                   minimum=8_192, metavar="BYTES")
    request_buffer_mib: int = _setting(32, "CKG_REQUEST_BUFFER_MIB", "Megabytes of requests one worker holds in "
                                       "memory (arriving, or waiting for a thread); past it a request gets 503 with "
                                       "Retry-After.",
                                       minimum=1, metavar="MIB")
    max_connections: int = _setting(1000, "CKG_MAX_CONNECTIONS", "Connections one worker holds open; when full, "
                                    "the oldest request still arriving is dropped (408) to make room.",
                                    minimum=8)
    downloads_dir: str | None = _setting(None, "CKG_DOWNLOADS_DIR", "Folder for the release files served at "
                                         "/downloads/ (with --store: for every file derived from the engine, one "
                                         "folder per published graph, shared by the replicas following it).",
                                         metavar="DIR", shown="a fresh temporary folder per process")

    store: str | None = _setting(None, "CKG_STORE", "Serve from a SPARQL engine instead of a catalogue folder: the "
                                 "engine's SPARQL 1.1 query endpoint (what `ckg publish` loaded). Credentials, if "
                                 "it asks: CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN.", metavar="URL",
                                 shown="none: serve CATALOG_DIR")
    store_graph: str | None = _setting(None, "CKG_STORE_GRAPH", "With --store: the named graph holding the current "
                                       "catalogue.", metavar="IRI", shown="the one `ckg publish` names current")

    @classmethod
    def from_env(cls, **overrides: Any) -> "ServiceConfig":
        """Every setting from its environment variable, else its default; ``overrides`` that are not None win."""
        values = {s.name: s.from_env() for s in SETTINGS if overrides.get(s.name) is None}
        return cls(**values, **{name: value for name, value in overrides.items() if value is not None})


def _settings() -> tuple[Setting, ...]:
    hints = get_type_hints(ServiceConfig)
    rows = []
    for f in fields(ServiceConfig):
        meta = f.metadata
        kind = next(t for t in getattr(hints[f.name], "__args__", (hints[f.name],)) if t is not type(None))
        default = f.default_factory if f.default is MISSING else f.default  # type: ignore[misc]
        rows.append(Setting(f.name, meta["env"], kind, meta["help"], default, meta["minimum"], meta["maximum"],
                            meta["metavar"], meta["shown"], meta["option"], meta["short"]))
    return tuple(rows)


SETTINGS: tuple[Setting, ...] = _settings()
"""The table, in declaration order (the order of ``ckg serve --help``)."""
