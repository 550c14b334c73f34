"""Content negotiation: pick the media type to answer with from an ``Accept`` header (RFC 9110 §12.5.1).

One small module used by every part of the service, so the SPARQL endpoint and the resource pages
agree on what ``Accept: text/turtle;q=0.9, */*;q=0.1`` means. The rules:

- each offered type gets the quality of the *most specific* media range that matches it
  (``type/subtype;param=x`` beats ``type/subtype`` beats ``type/*`` beats ``*/*``), so
  ``text/*;q=0.3, text/turtle`` prefers Turtle and ``*/*;q=0, text/csv`` allows only CSV;
- ``q=0`` means "not acceptable"; a missing or empty header means "anything", i.e. the
  server's first choice;
- ties are settled by the server's order of preference (the order of ``offered``);
- malformed pieces of the header are skipped rather than failing the whole request, since
  real clients send odd headers and a sensible answer beats a 400;
- a ``charset`` parameter is matched against UTF-8 (the only charset this service writes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence


@dataclass(frozen=True)
class MediaRange:
    """One element of an ``Accept`` header."""

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def specificity(self) -> int:
        """How narrow the range is: 0 for ``*/*``, 1 for ``type/*``, 2 for ``type/sub``, 3 with parameters."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2

    def matches(self, media_type: str) -> bool:
        """Whether the concrete ``media_type`` (which may carry parameters) falls in this range."""
        main, params = _split(media_type)
        type_, _, subtype = main.partition("/")
        if self.type != "*" and self.type != type_:
            return False
        if self.subtype != "*" and self.subtype != subtype:
            return False
        for name, value in self.params.items():
            if name == "charset":
                offered_charset = params.get("charset", "utf-8")
                if value not in (offered_charset, "*") and not (value == "utf8" and offered_charset == "utf-8"):
                    return False
            elif params.get(name) != value:
                return False
        return True


def _split(media_type: str) -> tuple[str, dict[str, str]]:
    """``'Text/Turtle; charset="UTF-8"'`` -> ``('text/turtle', {'charset': 'utf-8'})``."""
    main, *raw_params = media_type.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        name, sep, value = raw.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return main.strip().lower(), params


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, in the order written; malformed entries are dropped."""
    ranges: list[MediaRange] = []
    if not header:
        return ranges
    for element in _split_elements(header):
        main, params = _split(element)
        type_, slash, subtype = main.partition("/")
        if not slash or not type_ or not subtype or (type_ == "*" and subtype != "*"):
            if main == "*":  # some old clients send a bare "*" for "anything"
                type_, subtype = "*", "*"
            else:
                continue
        q = 1.0
        if "q" in params:
            try:
                q = float(params.pop("q"))
            except ValueError:
                continue
            if not 0.0 <= q <= 1.0:
                continue
        # Parameters after q are accept-extensions, not media-type parameters: RFC 9110 drops them.
        ranges.append(MediaRange(type_, subtype, params, q))
    return ranges


def _split_elements(header: str) -> list[str]:
    """Split on commas that are not inside a quoted parameter value."""
    elements, current, quoted = [], [], False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            elements.append("".join(current))
            current = []
        else:
            current.append(char)
    elements.append("".join(current))
    return [element.strip() for element in elements if element.strip()]


def quality(ranges: Sequence[MediaRange], media_type: str) -> float:
    """The q-value the client gives ``media_type``: that of the most specific matching range (0 if none)."""
    best: MediaRange | None = None
    for candidate in ranges:
        if candidate.matches(media_type) and (best is None or candidate.specificity > best.specificity):
            best = candidate
    return best.q if best else 0.0


def ranked(accept: str | None, offered: Sequence[str]) -> list[tuple[str, float]]:
    """Every acceptable offered type with its quality, best first (server order settles ties)."""
    ranges = parse_accept(accept)
    if not ranges:
        return [(media_type, 1.0) for media_type in offered]
    scored = [(media_type, quality(ranges, media_type)) for media_type in offered]
    acceptable = [(media_type, q) for media_type, q in scored if q > 0]
    return sorted(acceptable, key=lambda pair: -pair[1])  # sorted() is stable: ties keep server order


def choose(accept: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type to answer with, or ``None`` when the client accepts none of them (406).

    A missing, empty or entirely malformed header accepts anything: the first offered type wins.
    """
    best = ranked(accept, offered)
    return best[0][0] if best else None
