"""JSON-LD that reads like ordinary nested JSON and is still exactly the graph.

The shape follows the published context (ontology/context.jsonld): a competency holds its levels
in rank order, each level its criteria in position order, texts are language maps, links are
plain IRI strings. The writer is driven by the context alone: a triple no short term can express
is written in expanded form under its full IRI rather than dropped, so nothing is ever lost.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, BinaryIO, Iterable, Iterator

import orjson
from pyoxigraph import BlankNode, Literal, NamedNode

from ontology.graph import Statement

from ontology.namespaces import CKG, RDF, XSD, compact

CONTEXT_FILE = files("ontology") / "context.jsonld"
EMBEDDED = frozenset({CKG + "hasLevel", CKG + "hasCriterion", CKG + "developmentOffer"})
"""Links whose targets are written inside their parent: a competency owns its levels and offers."""
_TYPE = RDF + "type"
_INTEGER = XSD + "integer"
_STRING = XSD + "string"


@cache
def context() -> dict[str, Any]:
    """The published context document (``{"@context": {...}}``)."""
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class _Term:
    name: str
    kind: str  # "language", "id", "typed", "plain" or "embed"
    datatype: str = ""
    is_set: bool = False


@cache
def _terms() -> tuple[dict[str, _Term], dict[str, str], dict[str, str]]:
    """Reverse index of the context: predicate IRI → term, class IRI → short name, prefixes."""
    ctx = context()["@context"]
    prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith(("#", "/"))}

    def expand(value: str) -> str:
        prefix, _, local = value.partition(":")
        return prefixes[prefix] + local if prefix in prefixes and not value.startswith("http") else value

    by_predicate: dict[str, _Term] = {}
    classes: dict[str, str] = {}
    for name, definition in ctx.items():
        if name.startswith("@") or name in prefixes or name in ("id", "type"):
            continue
        if isinstance(definition, str):
            iri = expand(definition)
            if name[0].isupper():
                classes[iri] = name
            else:
                by_predicate[iri] = _Term(name, "plain")
            continue
        iri = expand(definition["@id"])
        is_set = definition.get("@container") == "@set"
        if definition.get("@container") == "@language":
            term = _Term(name, "language")
        elif definition.get("@type") == "@id":
            term = _Term(name, "id", is_set=is_set)
        elif "@type" in definition:
            term = _Term(name, "typed", expand(definition["@type"]), is_set=is_set)
        else:
            term = _Term(name, "embed" if iri in EMBEDDED else "plain", is_set=is_set)
        by_predicate[iri] = term
    return by_predicate, classes, prefixes


def _compact_class(iri: str) -> str:
    _, classes, prefixes = _terms()
    return classes[iri] if iri in classes else compact(iri, prefixes)


def _expanded(term: NamedNode | BlankNode | Literal) -> dict[str, Any]:
    if isinstance(term, NamedNode):
        return {"@id": term.value}
    if isinstance(term, BlankNode):
        return {"@id": f"_:{term.value}"}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == _STRING:
        return {"@value": term.value}
    return {"@value": term.value, "@type": term.datatype.value}


def _native(literal: Literal) -> Any:
    """A literal as plain JSON where JSON-LD maps it back to the very same RDF literal."""
    datatype = literal.datatype.value
    if datatype == _STRING:
        return literal.value
    if datatype == _INTEGER and _PLAIN_INTEGER.fullmatch(literal.value) and abs(int(literal.value)) <= _SAFE_INTEGER:
        return int(literal.value)
    return None


_PLAIN_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,15})")
"""An xsd:integer written as JSON writes its number (no sign, no leading zero: "+3" and "007" are other
literals), at most 16 digits; an engine's graph may hold any text with that datatype."""
_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON reader gives back exactly: jsonld.js reads numbers as doubles (orjson refuses
anything past 64 bits), so a larger number would be read back as another literal."""


class NodeWriter:
    """Writes the nodes of one group of triples as nested JSON-LD objects."""

    def __init__(self, triples: Iterable[Statement]):
        self.by_subject: dict[str, list[Statement]] = defaultdict(list)
        for triple in triples:
            self.by_subject[_key(triple.subject)].append(triple)
        self.embedded: set[str] = {
            _key(t.object) for ts in self.by_subject.values() for t in ts
            if t.predicate.value in EMBEDDED and _key(t.object) in self.by_subject
        }

    def roots(self) -> list[str]:
        """Subjects not written inside another node, in IRI order."""
        return sorted(s for s in self.by_subject if s not in self.embedded)

    def node(self, subject: str) -> dict[str, Any]:
        by_predicate, _, _ = _terms()
        triples = self.by_subject[subject]
        out: dict[str, Any] = {"id": subject}
        types = sorted(_compact_class(t.object.value) for t in triples if t.predicate.value == _TYPE and isinstance(t.object, NamedNode))
        odd_types = [t for t in triples if t.predicate.value == _TYPE and not isinstance(t.object, NamedNode)]
        if types:
            out["type"] = types  # always a list, so plain JSON code never has to check
        grouped: dict[str, list[NamedNode | BlankNode | Literal]] = defaultdict(list)
        for t in triples:
            if t.predicate.value != _TYPE:
                grouped[t.predicate.value].append(t.object)
        if odd_types:
            grouped[_TYPE].extend(t.object for t in odd_types)
        fields: dict[str, Any] = {}
        for predicate, objects in grouped.items():
            term = by_predicate.get(predicate)
            value = self._compact(term, objects) if term else None
            if value is None:
                fields.setdefault(predicate, []).extend(_expanded(o) for o in sorted(objects, key=str))
            else:
                fields[term.name] = value
        for name in sorted(fields):
            out[name] = fields[name]
        return out

    def _compact(self, term: _Term, objects: list) -> Any:
        """The short form of ``objects`` under ``term``, or None when only the expanded form is exact."""
        if term.kind == "language":
            if not all(isinstance(o, Literal) and o.language for o in objects):
                return None
            languages: dict[str, list[str]] = defaultdict(list)
            for o in objects:
                languages[o.language].append(o.value)
            return {lang: values[0] if len(values) == 1 else sorted(values) for lang, values in sorted(languages.items())}
        if term.kind in ("id", "embed"):
            if not all(isinstance(o, NamedNode) for o in objects):
                return None
            if term.kind == "embed" and all(o.value in self.embedded for o in objects):
                nodes = [self.node(o.value) for o in objects]
                return sorted(nodes, key=_node_order)
            if term.kind == "embed":
                return None
            values = sorted(o.value for o in objects)
            return values if term.is_set or len(values) > 1 else values[0]
        if not all(isinstance(o, Literal) and not o.language for o in objects):
            return None
        if term.kind == "typed":
            if not all(o.datatype.value == term.datatype for o in objects):
                return None
            values = sorted(o.value for o in objects)
        else:
            natives = [_native(o) for o in objects]
            if any(v is None for v in natives):
                return None
            values = sorted(natives, key=lambda v: (isinstance(v, str), v))
        return values if term.is_set or len(values) > 1 else values[0]


def _key(term: NamedNode | BlankNode | Literal) -> str:
    return term.value if isinstance(term, NamedNode) else f"_:{term.value}"


def _node_order(node: dict[str, Any]) -> tuple:
    order = node.get("rank", node.get("position", 0))
    return (order if isinstance(order, int) else 0, node["id"])


def document(triples: Iterable[Statement], context_ref: Any = None) -> dict[str, Any]:
    """One JSON-LD document for ``triples``; a single root becomes the top object itself."""
    writer = NodeWriter(triples)
    nodes = [writer.node(root) for root in writer.roots()]
    ctx = context_ref if context_ref is not None else context()["@context"]
    if len(nodes) == 1:
        return {"@context": ctx, **nodes[0]}
    return {"@context": ctx, "@graph": nodes}


def root_nodes(groups: Iterable[Iterable[Statement]]) -> Iterator[dict[str, Any]]:
    """The top-level nested nodes of each group in turn (a group: the shared nodes, or one competency)."""
    for group in groups:
        writer = NodeWriter(group)
        for root in writer.roots():
            yield writer.node(root)


def write_dataset(nodes: Iterable[dict[str, Any]], out: BinaryIO) -> None:
    """Stream a whole dataset as one ``@graph`` with the context inlined, so no reader needs the network.

    Nodes are written one after another, so memory holds one competency at a time, not the graph.
    """
    out.write(b'{\n  "@context": ')
    out.write(_indent(orjson.dumps(context()["@context"], option=orjson.OPT_INDENT_2), 2))
    out.write(b',\n  "@graph": [')
    separator = b"\n    "
    for node in nodes:
        out.write(separator)
        out.write(_indent(orjson.dumps(node, option=orjson.OPT_INDENT_2), 4))
        separator = b",\n    "
    out.write(b"\n  ]\n}\n")


def _indent(text: bytes, spaces: int) -> bytes:
    return text.replace(b"\n", b"\n" + b" " * spaces)


def dumps(doc: dict[str, Any]) -> bytes:
    """A document as indented UTF-8 JSON (key order as built: stable output)."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
