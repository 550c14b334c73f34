"""Who the engine client (``service.engine``) is to a SPARQL engine that asks: Bearer, Basic or HTTP Digest.

Why Digest here at all: Virtuoso's authenticated endpoints (``/sparql-auth``) accept only Digest, and
``ckg serve --store`` speaks HTTP itself (``service.engine_wire``), so requests' ``HTTPDigestAuth``
(which lives in requests' response hooks) cannot be used. RFC 7616 is implemented for what engines
offer: MD5 and SHA-256 (and their ``-sess`` forms), ``qop=auth`` (``auth-int`` if that is all that is
offered; RFC 2069's answer without qop for old servers), ``opaque`` echoed, ``userhash``.

Why the state is per thread: each thread has its own kept-alive connection, and a nonce is answered
with a count (``nc``) that the server may check for replays; one nonce shared by threads would send
counts out of order. So each thread answers its first challenge once, then reuses that nonce with
``nc`` 1, 2, 3 ... until the server sends a new challenge (``stale=true`` or a fresh 401).

Credentials are read from the environment only (never argv) and never appear in a message, a log
line, a repr or ``/status``.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

VARIABLES = "CKG_STORE_USER/CKG_STORE_PASSWORD or CKG_STORE_TOKEN"
"""Where the credentials come from, as every refusal message names them."""

_HASHES: dict[str, Callable[[bytes], "hashlib._Hash"]] = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
SUPPORTED = ", ".join(name + suffix for name in _HASHES for suffix in ("", "-sess"))


def refusal(where: str, status: int, given: bool) -> str:
    """What to tell the operator when the engine refuses a read (the same words for pages and for SPARQL)."""
    if given:
        return (f"the SPARQL engine at {where} refused our credentials (HTTP {status}); the operator must set "
                f"{VARIABLES} to an account that may query it")
    return (f"the SPARQL engine at {where} asks for credentials (HTTP {status}) and none are set; the operator "
            f"must set {VARIABLES} to an account that may query it")


class Unanswerable(ValueError):
    """A challenge this client cannot answer (an unknown scheme or algorithm): said in words, never a loop."""


@dataclass(frozen=True)
class Login:
    """The credentials from the environment; ``repr`` shows neither password nor token."""

    user: str | None = None
    password: str = field(default="", repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Login":
        env = os.environ if env is None else env
        login = cls(env.get("CKG_STORE_USER") or None, env.get("CKG_STORE_PASSWORD") or "",
                    env.get("CKG_STORE_TOKEN") or None)
        for value in (login.user or "", login.password, login.token or ""):
            if not value.isascii() or any(c in value for c in "\r\n"):
                raise ValueError(f"{VARIABLES}: use printable ASCII (the credentials go into an HTTP header)")
        return login

    @property
    def given(self) -> bool:
        return bool(self.token or self.user)

    def basic(self) -> str:
        pair = f"{self.user}:{self.password}".encode("ascii")
        return "Basic " + base64.b64encode(pair).decode("ascii")


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN})\s*(?:,|$)')
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+[A-Za-z0-9._~+/-]+=*(?=\s*(?:,|$)))?\s*,?")


def challenges(headers: list[str]) -> list[tuple[str, dict[str, str]]]:
    """The challenges of ``WWW-Authenticate`` headers: (scheme in lower case, its parameters, names in lower case).

    One header may hold several challenges (``Digest realm="a", nonce="b", Basic realm="c"``), and a
    quoted value may hold commas, so the header is read token by token rather than split on commas.
    """
    found: list[tuple[str, dict[str, str]]] = []
    for header in headers:
        position = 0
        while position < len(header):
            param = _PARAM.match(header, position)
            if param and found:
                value = param[2]
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                found[-1][1][param[1].lower()] = value
                position = param.end()
                continue
            scheme = _SCHEME.match(header, position)
            if not scheme or scheme.end() == position:
                break  # not a challenge: the rest of this header is ignored
            found.append((scheme[1].lower(), {}))
            position = scheme.end()
    return found


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Digest:
    """One thread's answer to one Digest challenge: its nonce, answered with a growing ``nc``."""

    def __init__(self, login: Login, params: Mapping[str, str], cnonce: Callable[[], str] | None = None):
        algorithm = params.get("algorithm", "MD5")
        name, sess = (algorithm[:-5], True) if algorithm.upper().endswith("-SESS") else (algorithm, False)
        if name.upper() not in _HASHES:
            raise Unanswerable(f"asks for HTTP Digest with algorithm {algorithm}, which this client does not speak "
                               f"(it speaks {SUPPORTED})")
        if "nonce" not in params:
            raise Unanswerable("sent an HTTP Digest challenge without a nonce")
        offered = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
        if offered and not {"auth", "auth-int"} & set(offered):
            raise Unanswerable(f"asks for HTTP Digest with qop={params['qop']}, which this client does not speak")
        self.qop = None if not offered else "auth" if "auth" in offered else "auth-int"
        self._hash = _HASHES[name.upper()]
        self.algorithm, self.sess = algorithm, sess
        self.realm, self.nonce, self.opaque = params.get("realm", ""), params["nonce"], params.get("opaque")
        self.userhash = params.get("userhash", "").lower() == "true"
        self.login = login
        self.count = 0
        self._cnonce = cnonce or (lambda: os.urandom(16).hex())

    def _h(self, text: str | bytes) -> str:
        return self._hash(text if isinstance(text, bytes) else text.encode("utf-8")).hexdigest()

    def header(self, method: str, uri: str, body: bytes) -> str:
        """The ``Authorization`` value for the next request on this nonce (``nc`` one more than the last)."""
        self.count += 1
        nc, cnonce = f"{self.count:08x}", self._cnonce()
        user = self.login.user or ""
        secret = self._h(f"{user}:{self.realm}:{self.login.password}")
        if self.sess:
            secret = self._h(f"{secret}:{self.nonce}:{cnonce}")
        target = self._h(f"{method}:{uri}" + (f":{self._h(body)}" if self.qop == "auth-int" else ""))
        if self.qop:
            response = self._h(f"{secret}:{self.nonce}:{nc}:{cnonce}:{self.qop}:{target}")
        else:
            response = self._h(f"{secret}:{self.nonce}:{target}")
        fields = [f"username={_quoted(self._h(f'{user}:{self.realm}') if self.userhash else user)}",
                  f"realm={_quoted(self.realm)}", f"nonce={_quoted(self.nonce)}", f"uri={_quoted(uri)}",
                  f"algorithm={self.algorithm}", f"response={_quoted(response)}"]
        if self.opaque is not None:
            fields.append(f"opaque={_quoted(self.opaque)}")
        if self.qop:
            fields += [f"qop={self.qop}", f"nc={nc}", f"cnonce={_quoted(cnonce)}"]
        if self.userhash:
            fields.append("userhash=true")
        return "Digest " + ", ".join(fields)
