"""YAML documents that remember where each value came from.

PyYAML's plain loaders forget line numbers and silently keep the last of two equal keys; an
editor needs both the position of every mistake and a word about duplicated keys.
"""
from __future__ import annotations

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


def read_yaml(path: Path, display_path: str) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one file; a syntax error comes back as a problem, never as an exception."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(display_path, 1, 1, f"file is not valid UTF-8 ({error.reason})", "UTF-8 text")]
    except OSError as error:
        return None, [Problem(display_path, 1, 1, f"cannot read file: {error.strerror}")]
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
    document.data = _convert(node, (), document, problems) if node is not None else None
    return document, problems


def _convert(node: yaml.Node, at: JsonPath, doc: YamlDocument, problems: list[Problem]) -> Any:
    doc.value_positions[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            key_text = str(key)
            child = at + (key_text,)
            if key_text in result:
                problems.append(Problem(doc.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        f"duplicate key '{key_text}'", "each key once per mapping"))
            doc.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key_text] = _convert(value_node, child, doc, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, at + (index,), doc, problems) for index, item in enumerate(node.value)]
    return _scalar(node)


_AS_TEXT = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"})
_constructor = yaml.SafeLoader("")  # only used to resolve scalars by their implicit tags


def _scalar(node: yaml.Node) -> Any:
    """A scalar as the safe loader would construct it, except dates, which stay text."""
    if not isinstance(node, yaml.ScalarNode):
        return str(node.start_mark)
    if node.tag in _AS_TEXT:  # most scalars: skip the constructor machinery
        return node.value
    return _constructor.construct_object(node, deep=True)
