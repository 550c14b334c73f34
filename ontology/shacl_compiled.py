"""A compiled SHACL Core validator for the subset of SHACL our shapes use, for large graphs.

pyshacl is the reference engine, but it spends ~0.1 ms per focus node and property shape: about
7 minutes for a 20,000-competency catalogue. This module reads the same shapes file and evaluates
the same constraints with plain dictionary lookups over an index of the triples, which takes
seconds. It refuses shapes that use anything it does not implement (``UnsupportedShapes``), so
it can never silently check less than the shapes say; tests run both engines over the same
broken graphs and require identical findings.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import islice
from typing import Callable, Iterable, Iterator

import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from .parallel import cycle_collector_paused, side_by_side
from .namespaces import RDF, RDFS, SH, XSD

Term = NamedNode | BlankNode | Literal
Finding = tuple[str, str, str, str]
"""(focus node, path as text, message, constraint component local name)."""

_RDF_TYPE, _SUBCLASS = NamedNode(RDF + "type"), NamedNode(RDFS + "subClassOf")
_LANG_STRING = RDF + "langString"
_NUMERIC = {XSD + t for t in ("integer", "decimal", "int", "long", "short", "byte", "nonNegativeInteger",
                               "positiveInteger", "negativeInteger", "nonPositiveInteger", "unsignedInt",
                               "unsignedLong", "unsignedShort", "unsignedByte", "double", "float")}
_LEXICAL = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    XSD + "date": re.compile(r"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(Z|[+-][0-9]{2}:[0-9]{2})?"),
    XSD + "boolean": re.compile(r"true|false|1|0"),
    XSD + "decimal": re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"),
}
_IGNORED = {RDF + "type", SH + "message", SH + "name", SH + "description", SH + "order", SH + "group",
            RDFS + "comment", RDFS + "label", SH + "severity", SH + "deactivated"}
_VALUE_KEYWORDS = {"datatype", "class", "nodeKind", "minInclusive", "maxInclusive", "minExclusive",
                   "maxExclusive", "languageIn", "minLength", "maxLength", "pattern", "flags", "in", "hasValue"}
_PROPERTY_KEYWORDS = _VALUE_KEYWORDS | {"path", "minCount", "maxCount", "uniqueLang", "qualifiedValueShape",
                                        "qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint"}
_NODE_KEYWORDS = _VALUE_KEYWORDS | {"targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "property"}


class UnsupportedShapes(Exception):
    """The shapes use SHACL features this engine does not implement; use pyshacl instead."""


def _local(iri: str) -> str:
    return iri.rsplit("#", 1)[-1]


# ---- reading the shapes --------------------------------------------------------------------------

@dataclass
class ValueRules:
    """Constraints that each value node must satisfy on its own."""

    datatype: str | None = None
    classes: list[NamedNode] = field(default_factory=list)
    node_kind: str | None = None
    bounds: list[tuple[str, Decimal]] = field(default_factory=list)
    languages: list[str] | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: re.Pattern | None = None
    allowed: list[Term] | None = None

    def __bool__(self) -> bool:
        """False when there is nothing to check on a value (most count-only property shapes)."""
        return bool(self.datatype or self.classes or self.node_kind or self.bounds or self.languages is not None
                    or self.min_length is not None or self.max_length is not None or self.pattern or self.allowed is not None)


@dataclass
class PropertyShape:
    predicate: NamedNode
    inverse: bool
    rules: ValueRules
    min_count: int | None = None
    max_count: int | None = None
    unique_lang: bool = False
    has_value: Term | None = None
    qualified: ValueRules | None = None
    qualified_min: int | None = None
    qualified_max: int | None = None
    message: str | None = None

    @property
    def path_text(self) -> str:
        return ("^" if self.inverse else "") + self.predicate.value


@dataclass
class NodeShape:
    name: str
    targets_class: list[NamedNode] = field(default_factory=list)
    targets_node: list[Term] = field(default_factory=list)
    targets_subjects_of: list[NamedNode] = field(default_factory=list)
    targets_objects_of: list[NamedNode] = field(default_factory=list)
    rules: ValueRules = field(default_factory=ValueRules)
    properties: list[PropertyShape] = field(default_factory=list)
    message: str | None = None


def _to_ox(term: rdflib.term.Node) -> Term:
    if isinstance(term, rdflib.URIRef):
        return NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return BlankNode(str(term))
    if term.language:
        return Literal(str(term), language=term.language)
    return Literal(str(term), datatype=NamedNode(str(term.datatype or XSD + "string")))


class _ShapeReader:
    def __init__(self, graph: rdflib.Graph):
        self.g = graph

    def keywords(self, node: rdflib.term.Node, allowed: set[str]) -> dict[str, list[rdflib.term.Node]]:
        found: dict[str, list] = defaultdict(list)
        for predicate, obj in self.g.predicate_objects(node):
            iri = str(predicate)
            if iri in _IGNORED:
                continue
            if not iri.startswith(SH) or _local(iri) not in allowed:
                raise UnsupportedShapes(f"{predicate.n3(self.g.namespace_manager)} on shape {node}")
            found[_local(iri)].append(obj)
        return found

    def active(self, node: rdflib.term.Node) -> bool:
        deactivated = self.g.value(node, rdflib.URIRef(SH + "deactivated"))
        severity = self.g.value(node, rdflib.URIRef(SH + "severity"))
        return not (deactivated is not None and deactivated.toPython() is True) and severity in (None, rdflib.URIRef(SH + "Violation"))

    def message(self, node: rdflib.term.Node) -> str | None:
        value = self.g.value(node, rdflib.URIRef(SH + "message"))
        return str(value) if value is not None else None

    def value_rules(self, k: dict[str, list]) -> ValueRules:
        rules = ValueRules()
        if "datatype" in k:
            rules.datatype = str(k["datatype"][0])
        rules.classes = [NamedNode(str(c)) for c in k.get("class", [])]
        if "nodeKind" in k:
            rules.node_kind = _local(str(k["nodeKind"][0]))
        for bound in ("minInclusive", "maxInclusive", "minExclusive", "maxExclusive"):
            for value in k.get(bound, []):
                rules.bounds.append((bound, Decimal(str(value))))
        if "languageIn" in k:
            rules.languages = [str(x).lower() for x in rdflib.collection.Collection(self.g, k["languageIn"][0])]
        if "minLength" in k:
            rules.min_length = int(k["minLength"][0])
        if "maxLength" in k:
            rules.max_length = int(k["maxLength"][0])
        if "pattern" in k:
            flags = re.IGNORECASE if "i" in str(k.get("flags", [""])[0]) else 0
            rules.pattern = re.compile(str(k["pattern"][0]), flags)
        if "in" in k:
            rules.allowed = [_to_ox(x) for x in rdflib.collection.Collection(self.g, k["in"][0])]
        return rules

    def property_shape(self, node: rdflib.term.Node) -> PropertyShape | None:
        if not self.active(node):
            return None
        k = self.keywords(node, _PROPERTY_KEYWORDS)
        path = k["path"][0]
        if isinstance(path, rdflib.URIRef):
            predicate, inverse = NamedNode(str(path)), False
        else:
            inner = dict(self.g.predicate_objects(path))
            target = inner.get(rdflib.URIRef(SH + "inversePath"))
            if len(inner) != 1 or not isinstance(target, rdflib.URIRef):
                raise UnsupportedShapes(f"property path {path} (only IRIs and sh:inversePath of an IRI are compiled)")
            predicate, inverse = NamedNode(str(target)), True
        shape = PropertyShape(predicate, inverse, self.value_rules(k), message=self.message(node))
        shape.min_count = int(k["minCount"][0]) if "minCount" in k else None
        shape.max_count = int(k["maxCount"][0]) if "maxCount" in k else None
        shape.unique_lang = bool(k.get("uniqueLang") and k["uniqueLang"][0].toPython() is True)
        shape.has_value = _to_ox(k["hasValue"][0]) if "hasValue" in k else None
        if "qualifiedValueShape" in k:
            inner_keywords = self.keywords(k["qualifiedValueShape"][0], _VALUE_KEYWORDS)
            shape.qualified = self.value_rules(inner_keywords)
            shape.qualified_min = int(k["qualifiedMinCount"][0]) if "qualifiedMinCount" in k else None
            shape.qualified_max = int(k["qualifiedMaxCount"][0]) if "qualifiedMaxCount" in k else None
        return shape

    def node_shapes(self) -> list[NodeShape]:
        shapes = []
        for node in sorted(set(self.g.subjects(rdflib.RDF.type, rdflib.URIRef(SH + "NodeShape")))):
            if not self.active(node):
                continue
            k = self.keywords(node, _NODE_KEYWORDS)
            shape = NodeShape(str(node), rules=self.value_rules(k), message=self.message(node))
            shape.targets_class = [NamedNode(str(c)) for c in k.get("targetClass", [])]
            shape.targets_node = [_to_ox(n) for n in k.get("targetNode", [])]
            shape.targets_subjects_of = [NamedNode(str(p)) for p in k.get("targetSubjectsOf", [])]
            shape.targets_objects_of = [NamedNode(str(p)) for p in k.get("targetObjectsOf", [])]
            shape.properties = [p for p in map(self.property_shape, k.get("property", [])) if p is not None]
            shapes.append(shape)
        return shapes


def compile_shapes(shapes_graph: rdflib.Graph) -> list[NodeShape]:
    """The node shapes of ``shapes_graph``; raises UnsupportedShapes for anything not implemented."""
    return _ShapeReader(shapes_graph).node_shapes()


# ---- evaluating them -----------------------------------------------------------------------------

class _Index:
    """Subject → predicate → objects, the instances of each class, and the links shapes walk backwards.

    The subject index is filled with plain ``get`` calls (no nested defaultdicts) and the class
    and inverse indexes are derived from it afterwards, subject by subject, rather than by testing
    every triple's predicate: on millions of triples that is the difference between seconds and tens
    of seconds.
    """

    def __init__(self, triples: Iterable[Triple], inverse_predicates: set[NamedNode]):
        out: dict[Term, dict[NamedNode, list[Term]]] = {}
        for subject, predicate, obj in triples:
            entry = out.get(subject)
            if entry is None:
                out[subject] = {predicate: [obj]}
                continue
            values = entry.get(predicate)
            if values is None:
                entry[predicate] = [obj]
            else:
                values.append(obj)
        self.out = out
        self.back: dict[Term, dict[NamedNode, list[Term]]] = {}
        self.typed: dict[Term, list[Term]] = {}
        self.subclass: dict[Term, list[Term]] = {}
        for subject, entry in out.items():
            for cls in entry.get(_RDF_TYPE, ()):
                self.typed.setdefault(cls, []).append(subject)
            for parent in entry.get(_SUBCLASS, ()):
                self.subclass.setdefault(parent, []).append(subject)
            for predicate in inverse_predicates:
                for obj in entry.get(predicate, ()):
                    self.back.setdefault(obj, {}).setdefault(predicate, []).append(subject)
        self._instances: dict[Term, frozenset[Term]] = {}

    def subclasses(self, cls: Term) -> set[Term]:
        seen, todo = {cls}, [cls]
        while todo:
            for sub in self.subclass.get(todo.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    todo.append(sub)
        return seen

    def instances(self, cls: Term) -> frozenset[Term]:
        """Every node typed with ``cls`` or one of its subclasses (SHACL's notion of instance)."""
        found = self._instances.get(cls)
        if found is None:
            found = frozenset(node for sub in self.subclasses(cls) for node in self.typed.get(sub, ()))
            self._instances[cls] = found
        return found

    def values(self, focus: Term, shape: PropertyShape) -> list[Term]:
        side = self.back if shape.inverse else self.out
        entry = side.get(focus)
        return entry.get(shape.predicate, []) if entry else []


def _lang_matches(tag: str, ranges: list[str]) -> bool:
    tag = tag.lower()
    return any(r == "*" or tag == r or tag.startswith(r + "-") for r in ranges)


def _well_formed(literal: Literal, datatype: str) -> bool:
    pattern = _LEXICAL.get(datatype)
    return pattern is None or pattern.fullmatch(literal.value) is not None


def _node_kind(value: Term) -> str:
    return "IRI" if isinstance(value, NamedNode) else "BlankNode" if isinstance(value, BlankNode) else "Literal"


def _has_datatype(value: Term, datatype: str) -> bool:
    if datatype == _LANG_STRING:
        return isinstance(value, Literal) and bool(value.language)
    return (isinstance(value, Literal) and not value.language and value.datatype.value == datatype
            and _well_formed(value, datatype))


def _within(number: Decimal | None, bound: str, limit: Decimal) -> bool:
    if number is None:
        return False
    if bound == "minInclusive":
        return number >= limit
    if bound == "maxInclusive":
        return number <= limit
    if bound == "minExclusive":
        return number > limit
    return number < limit


def _value_failures(value: Term, rules: ValueRules, index: _Index) -> Iterator[str]:
    """Names of the constraint components ``value`` violates (the reporting path: exact, not fast)."""
    if rules.datatype is not None and not _has_datatype(value, rules.datatype):
        yield "DatatypeConstraintComponent"
    for cls in rules.classes:
        if isinstance(value, Literal) or value not in index.instances(cls):
            yield "ClassConstraintComponent"
    if rules.node_kind is not None and _node_kind(value) not in rules.node_kind:
        yield "NodeKindConstraintComponent"
    for bound, limit in rules.bounds:
        if not _within(_number(value), bound, limit):
            yield bound[0].upper() + bound[1:] + "ConstraintComponent"
    if rules.languages is not None:
        if not (isinstance(value, Literal) and value.language and _lang_matches(value.language, rules.languages)):
            yield "LanguageInConstraintComponent"
    text = None if isinstance(value, BlankNode) else value.value
    if rules.min_length is not None and (text is None or len(text) < rules.min_length):
        yield "MinLengthConstraintComponent"
    if rules.max_length is not None and (text is None or len(text) > rules.max_length):
        yield "MaxLengthConstraintComponent"
    if rules.pattern is not None and (text is None or not rules.pattern.search(text)):
        yield "PatternConstraintComponent"
    if rules.allowed is not None and value not in rules.allowed:
        yield "InConstraintComponent"


def _number(value: Term) -> Decimal | None:
    if not isinstance(value, Literal) or value.datatype is None or value.datatype.value not in _NUMERIC:
        return None
    try:
        return Decimal(value.value)
    except InvalidOperation:
        return None


def _check_property(focus: Term, shape: PropertyShape, index: _Index) -> Iterator[tuple[str, str | None]]:
    """Every violation of ``shape`` at ``focus``, with the offending value or language where there is one."""
    values = index.values(focus, shape)
    if shape.min_count is not None and len(values) < shape.min_count:
        yield "MinCountConstraintComponent", None
    if shape.max_count is not None and len(values) > shape.max_count:
        yield "MaxCountConstraintComponent", None
    if shape.has_value is not None and shape.has_value not in values:
        yield "HasValueConstraintComponent", None
    if shape.unique_lang:
        languages: dict[str, int] = defaultdict(int)
        for value in values:
            if isinstance(value, Literal) and value.language:
                languages[value.language.lower()] += 1
        for language, count in sorted(languages.items()):
            if count > 1:
                yield "UniqueLangConstraintComponent", language
    if shape.rules:
        for value in values:
            for component in _value_failures(value, shape.rules, index):
                yield component, str(value)
    if shape.qualified is not None:
        conforming = sum(1 for v in values if next(_value_failures(v, shape.qualified, index), None) is None)
        if shape.qualified_min is not None and conforming < shape.qualified_min:
            yield "QualifiedMinCountConstraintComponent", None
        if shape.qualified_max is not None and conforming > shape.qualified_max:
            yield "QualifiedMaxCountConstraintComponent", None


# ---- the fast path: one yes/no test per focus node and shape -------------------------------------
# Nearly every focus node conforms, so each shape is first compiled into closures that only answer
# "does it conform?" with as few calls as possible. Only a "no" runs the exact reporting code above,
# which therefore stays the single definition of what a violation is; tests hold the two to the
# same answers (and both to pyshacl's).

ValueTest = Callable[[Term], bool]
ValuesTest = Callable[[list[Term]], bool]


def _value_test(rules: ValueRules, index: _Index) -> ValueTest | None:
    """A test that ``value`` passes every rule; None when there is nothing to test."""
    if not rules:
        return None
    tests: list[ValueTest] = []
    if rules.datatype is not None:
        datatype = rules.datatype
        if datatype == _LANG_STRING:
            tests.append(lambda v: isinstance(v, Literal) and bool(v.language))
        else:
            tests.append(lambda v: _has_datatype(v, datatype))
    for cls in rules.classes:
        members = index.instances(cls)
        tests.append(lambda v, members=members: not isinstance(v, Literal) and v in members)
    if rules.node_kind is not None:
        kinds = rules.node_kind
        tests.append(lambda v: _node_kind(v) in kinds)
    for bound, limit in rules.bounds:
        tests.append(lambda v, bound=bound, limit=limit: _within(_number(v), bound, limit))
    if (rules.languages is not None or rules.min_length is not None or rules.max_length is not None
            or rules.pattern is not None or rules.allowed is not None):
        tests.append(lambda v: next(_value_failures(v, rules, index), None) is None)
    if len(tests) == 1:
        return tests[0]
    return lambda v: all(test(v) for test in tests)


def _unique_languages(values: list[Term]) -> bool:
    seen: set[str] = set()
    for value in values:
        if isinstance(value, Literal):
            language = value.language
            if language:
                language = language.lower()
                if language in seen:
                    return False
                seen.add(language)
    return True


def _values_test(shape: PropertyShape, index: _Index) -> ValuesTest:
    """A test that the values of ``shape``'s path at one focus node raise no violation at all."""
    low, high, required, unique = shape.min_count, shape.max_count, shape.has_value, shape.unique_lang
    each = _value_test(shape.rules, index)
    qualified = _value_test(shape.qualified, index) if shape.qualified is not None else None
    qualified_low, qualified_high = shape.qualified_min, shape.qualified_max

    def conforms(values: list[Term]) -> bool:
        count = len(values)
        if (low is not None and count < low) or (high is not None and count > high):
            return False
        if required is not None and required not in values:
            return False
        if unique and count > 1 and not _unique_languages(values):
            return False
        if each is not None and not all(map(each, values)):
            return False
        if qualified_low is not None or qualified_high is not None:
            matching = sum(1 for v in values if qualified is None or qualified(v))
            if (qualified_low is not None and matching < qualified_low) or \
                    (qualified_high is not None and matching > qualified_high):
                return False
        return True

    return conforms


def _focus_nodes(shape: NodeShape, index: _Index) -> set[Term]:
    focus: set[Term] = set(shape.targets_node)
    for cls in shape.targets_class:
        focus.update(index.instances(cls))
    for predicate in shape.targets_subjects_of:
        focus.update(s for s, entry in index.out.items() if predicate in entry)
    for predicate in shape.targets_objects_of:
        focus.update(o for entry in index.out.values() for o in entry.get(predicate, ()))
    return focus


def _shape_findings(shape: NodeShape, focus_nodes: Iterable[Term], index: _Index) -> Iterator[Finding]:
    node_test = _value_test(shape.rules, index)
    property_tests = [(prop, prop.inverse, prop.predicate, _values_test(prop, index)) for prop in shape.properties]
    out, back, nothing = index.out, index.back, {}
    for focus in focus_nodes:
        forward, backward = out.get(focus, nothing), back.get(focus, nothing)
        if node_test is not None and not node_test(focus):
            for component in _value_failures(focus, shape.rules, index):
                yield _focus_text(focus), "", shape.message or f"focus node violates {component}", component
        for prop, inverse, predicate, conforms in property_tests:
            if conforms((backward if inverse else forward).get(predicate, ())):
                continue
            for component, detail in _check_property(focus, prop, index):
                default = f"{component.removesuffix('ConstraintComponent')} violated" + (f" by {detail}" if detail else "")
                yield _focus_text(focus), prop.path_text, prop.message or default, component


def _focus_text(focus: Term) -> str:
    """The focus node as pyshacl names it: the IRI, the blank node's label, the literal's lexical form."""
    return focus.value


def _findings(plan: list[tuple[NodeShape, list[Term]]], index: _Index, share: int, shares: int) -> set[Finding]:
    """The violations among every ``shares``-th focus node of each shape, starting at ``share``."""
    return {finding for shape, focus_nodes in plan
            for finding in _shape_findings(shape, islice(focus_nodes, share, None, shares), index)}


def validate(triples: Iterable[Triple], shapes: list[NodeShape], *, processes: int = 1) -> list[Finding]:
    """Every violation of ``shapes`` in ``triples``, sorted.

    With ``processes`` > 1 the focus nodes are dealt out to forked children that share the index
    (built once, here); the focus lists are fixed before the fork, so the shares never overlap.
    """
    inverse = {p.predicate for s in shapes for p in s.properties if p.inverse}
    with cycle_collector_paused():
        index = _Index(triples, inverse)
        plan = [(shape, list(_focus_nodes(shape, index))) for shape in shapes]
        shares = max(1, processes)
        found = side_by_side(*(partial(_findings, plan, index, share, shares) for share in range(shares)))
        return sorted(set().union(*found))
