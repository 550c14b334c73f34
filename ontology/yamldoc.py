"""YAML documents that remember where each value came from, read within fixed bounds.

PyYAML's plain loaders forget line numbers and silently keep the last of two equal keys; an
editor needs both the position of every mistake and a word about duplicated keys.

A catalogue file comes from people and tools we do not control, so reading one is bounded: its
size, how many values it holds once aliases are expanded (a 1 KB file of nested anchors and
aliases stands for a billion values), how deep they nest, which tags it may use (only YAML's plain
data types: a Python-specific tag is refused, never constructed), and which characters its texts
may hold (every export format must be able to carry them). Breaking a bound is a problem at a
``file:line:column``, like any other mistake in the catalogue.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .problems import Problem

try:  # the libyaml binding composes ~10x faster; fall back to pure Python where it is missing
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

JsonPath = tuple[str | int, ...]

MAX_BYTES = 1 << 20
"""A catalogue file's size limit (1 MiB); a competency file is a few KB."""
MAX_VALUES = 100_000
"""Values (keys, scalars, lists, mappings) a file may hold once every alias is expanded."""
MAX_DEPTH = 32
"""How deeply values may nest, aliases expanded; the catalogue's own formats need six levels."""
_PLAIN_TAGS = frozenset("tag:yaml.org,2002:" + name for name in
                        ("str", "int", "float", "bool", "null", "timestamp", "value", "seq", "map"))
_AS_TEXT = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"})
"""Dates stay text (as in YAML 1.2 editors); '=' (PyYAML's 'value' tag, which it cannot construct) is text."""

UNCARRIABLE = re.compile("[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters some export cannot carry: those outside XML 1.0's ``Char`` production (C0 controls
other than tab and line feed, surrogates, U+FFFE, U+FFFF), and carriage return, which an XML
parser turns into a line feed, so the RDF/XML would hold another text than the Turtle. Turtle,
N-Triples, JSON and CSV could escape them all; RDF/XML cannot, and one text must read the same in
every export."""


class _Refused(Exception):
    """Reading stopped at a bound; the problem says where."""

    def __init__(self, problem: Problem):
        self.problem = problem


@dataclass
class YamlDocument:
    """A parsed YAML file: plain Python data plus the position of every value and key."""

    path: str
    data: Any
    value_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, at: JsonPath) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``at``, or of its nearest enclosing value."""
        while at not in self.value_positions and at:
            at = at[:-1]
        return self.value_positions.get(at, (1, 1))

    def key_position(self, at: JsonPath) -> tuple[int, int]:
        """Where the key of ``at`` is written, falling back to the value's position."""
        return self.key_positions.get(at) or self.position(at)

    def problem(self, at: JsonPath, message: str, expected: str = "", *, on_key: bool = False) -> Problem:
        line, column = self.key_position(at) if on_key else self.position(at)
        return Problem(self.path, line, column, message, expected)


def read_bounded(path: Path, display_path: str) -> tuple[str | None, list[Problem]]:
    """The text of ``path`` as UTF-8, if it is a regular file within :data:`MAX_BYTES`."""
    try:  # open without waiting (a named pipe would block), then look at what was opened: no race with a swap
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, [Problem(display_path, 1, 1, "not a regular file", "a YAML text file")]
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        return None, [Problem(display_path, 1, 1, f"cannot read file: {error.strerror}")]
    if len(data) > MAX_BYTES:
        return None, [Problem(display_path, 1, 1, f"file is larger than {MAX_BYTES // 1024} KiB",
                              f"a catalogue file of at most {MAX_BYTES // 1024} KiB (split it up)")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as error:
        line, column = _byte_position(data, error.start)
        return None, [Problem(display_path, line, column,
                              f"file is not valid UTF-8: byte 0x{data[error.start]:02x} ({error.reason})",
                              "UTF-8 text (save the file as UTF-8)")]


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (in characters, 1-based) of byte ``offset``; everything before it is valid UTF-8."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8")) + 1


def read_yaml(path: Path, display_path: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one file; a syntax error or a broken bound comes back as a problem, never as an exception."""
    text, problems = read_bounded(path, display_path)
    if text is None:
        return None, problems
    return parse_yaml(text, display_path)


def parse_yaml(text: str, display_path: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse YAML ``text`` (read from ``display_path``) within this module's bounds."""
    bounds = alias_problems(text, display_path)
    if bounds:
        return None, bounds
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = error.problem or "invalid YAML"
        context = f" {error.context}" if error.context else ""
        return None, [Problem(display_path, line, column, f"YAML syntax error: {what}{context}", "well-formed YAML")]
    except yaml.YAMLError as error:
        return None, [Problem(display_path, 1, 1, f"YAML error: {error}", "well-formed YAML")]
    document = YamlDocument(display_path, None)
    problems: list[Problem] = []
    try:
        document.data = _Converter(document, problems).convert(node, ()) if node is not None else None
    except _Refused as refused:
        return None, [refused.problem]
    return document, problems


def alias_problems(text: str, shown: str, line_offset: int = 0, column_offset: int = 0) -> list[Problem]:
    """Where aliases in ``text`` break a bound: refer to the value they are inside, or expand too far.

    Composing YAML is cheap (an alias is one shared node); walking what was composed is what
    multiplies. So the event stream is read first, once, in linear time, keeping for every anchor
    how many values it stands for and how deep it nests, and the first alias that would take the
    file past :data:`MAX_VALUES` or :data:`MAX_DEPTH` is reported where it is written. Text without
    ``*`` has no alias and is not read twice.
    """
    if "*" not in text:
        return []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, height)
    stack: list[list] = []  # open collections: [anchor, values, height]
    total = 0

    def refuse(event: yaml.Event, message: str, expected: str) -> list[Problem]:
        mark = event.start_mark
        return [Problem(shown, mark.line + 1 + line_offset, mark.column + 1 + column_offset, message, expected)]

    limit = (f"at most {MAX_VALUES:,} values and {MAX_DEPTH} levels of nesting in a file, aliases expanded; "
             "write the values out instead of nesting anchors")
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append([event.anchor, 1, 0])
                total += 1
                if len(stack) > MAX_DEPTH:
                    return refuse(event, f"values nest more than {MAX_DEPTH} levels deep", limit)
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, values, height = stack.pop()
                height += 1
                if anchor is not None:
                    anchors[anchor] = (values, height)
            elif isinstance(event, yaml.AliasEvent):
                if any(frame[0] == event.anchor for frame in stack):
                    return refuse(event, f"alias *{event.anchor} refers to the value it is part of",
                                  "an alias of a value defined (and closed) before it")
                values, height = anchors.get(event.anchor, (1, 0))  # an undefined alias: composing reports it
                total += values
                if total > MAX_VALUES:
                    return refuse(event, f"alias *{event.anchor} expands the file beyond {MAX_VALUES:,} values", limit)
                if len(stack) + height > MAX_DEPTH:
                    return refuse(event, f"alias *{event.anchor} nests values more than {MAX_DEPTH} levels deep", limit)
            elif isinstance(event, yaml.ScalarEvent):
                values, height = 1, 0
                total += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 0)
            else:
                continue
            if stack:
                stack[-1][1] += values
                stack[-1][2] = max(stack[-1][2], height)
    except yaml.YAMLError:
        return []  # composing reports the syntax error, with its position
    return []


class _Converter:
    """Composed nodes to plain data, recording positions; stops at a bound (a second line of defence)."""

    def __init__(self, doc: YamlDocument, problems: list[Problem]):
        self.doc = doc
        self.problems = problems
        self.values = 0

    def _refuse(self, node: yaml.Node, message: str, expected: str) -> _Refused:
        return _Refused(Problem(self.doc.path, node.start_mark.line + 1, node.start_mark.column + 1, message, expected))

    def _count(self, node: yaml.Node, depth: int) -> None:
        self.values += 1
        if self.values > MAX_VALUES or depth > MAX_DEPTH:
            raise self._refuse(node, f"more than {MAX_VALUES:,} values or {MAX_DEPTH} levels of nesting",
                               "a smaller file without nested aliases")
        if node.tag not in _PLAIN_TAGS:
            raise self._refuse(node, f"tag {node.tag} is not allowed",
                               "plain YAML values: text, numbers, true/false, lists and mappings, without tags")

    def convert(self, node: yaml.Node, at: JsonPath) -> Any:
        doc = self.doc
        self._count(node, len(at))
        doc.value_positions[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                self._count(key_node, len(at) + 1)
                key = self.scalar(key_node)
                key_text = str(key)
                child = at + (key_text,)
                if key_text in result:
                    self.problems.append(Problem(doc.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                                 f"duplicate key '{key_text}'", "each key once per mapping"))
                doc.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key_text] = self.convert(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, at + (index,)) for index, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        """A scalar as the safe loader would construct it, except dates, which stay text."""
        if not isinstance(node, yaml.ScalarNode):
            return str(node.start_mark)
        if node.tag in _AS_TEXT:  # most scalars: skip the constructor machinery
            value = node.value
        else:
            try:
                value = _constructor.construct_object(node, deep=True)
            except (yaml.YAMLError, ValueError, KeyError, TypeError) as error:
                raise self._refuse(node, f"{node.value!r} cannot be read as {node.tag.rsplit(':', 1)[-1]} ({type(error).__name__})",
                                   "a value of the type its tag names, or no tag") from None
        if isinstance(value, str):
            bad = UNCARRIABLE.search(value)
            if bad:
                self.problems.append(Problem(
                    self.doc.path, node.start_mark.line + 1, node.start_mark.column + 1,
                    f"text holds the control character U+{ord(bad.group()):04X} at character {bad.start() + 1}",
                    "text without control characters other than tab and line break (RDF/XML cannot carry them)"))
        return value


_constructor = yaml.SafeLoader("")  # only used to resolve scalars by their implicit tags
