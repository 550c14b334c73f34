"""Check YAML documents against the published JSON Schemas and word each failure for an editor.

The JSON Schemas in ``catalog/schema/`` are the single definition of the catalogue format: editors
get completion from them, and this module turns jsonschema's findings into
``path:line:column: what is wrong — what was expected`` lines.

Two engines read the same schemas: fastjsonschema compiles them to Python code that says in
~0.1 ms whether a document is valid (the common case, 20,000 times in a large catalogue), and
only a document it rejects goes through jsonschema, which is ~50x slower but reports every error
with its location.
"""
from __future__ import annotations

import difflib
import json
from functools import cache
from typing import TYPE_CHECKING, Any

import fastjsonschema

from catalog import CATALOG_DIR

from .problems import Problem
from .yamldoc import YamlDocument

if TYPE_CHECKING:
    import jsonschema

SCHEMA_DIR = CATALOG_DIR / "schema"
_TYPE_NAMES = {"object": "a mapping of fields", "array": "a list", "string": "a text", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "nothing"}


@cache
def reference_validator(kind: str) -> "jsonschema.protocols.Validator":
    # imported here: jsonschema is only needed once a document has failed the fast check, and its
    # import (~0.3 s) would otherwise delay every command
    import jsonschema
    from referencing import Registry, Resource

    registry: Registry = Registry()
    schemas = {}
    for file in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(file.read_text(encoding="utf-8"))
        schemas[file.name] = schema
        resource = Resource.from_contents(schema)
        registry = registry.with_resources([(schema["$id"], resource), (file.name, resource)])
    schema = schemas[f"{kind}.schema.json"]
    cls = jsonschema.validators.validator_for(schema)
    # JSON Schema counts 2.0 as an integer; in a catalogue it is a typo that would mint .../level/2.0/
    whole = cls.TYPE_CHECKER.redefine("integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(cls, type_checker=whole)(schema, registry=registry)


def _inline_refs(schema: Any) -> Any:
    """The schema with every reference to defs.schema.json replaced by the definition itself."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("defs.schema.json#/$defs/"):
            return _inline_refs(shared_definition(ref.rsplit("/", 1)[1]))
        return {k: _inline_refs(v) for k, v in schema.items() if k not in ("$schema", "$id")}
    if isinstance(schema, list):
        return [_inline_refs(item) for item in schema]
    return schema


@cache
def fast_validator(kind: str) -> Any:
    """The schema compiled to Python; it uses only keywords that mean the same in draft 7 and 2020-12."""
    schema = _inline_refs(json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def check_document(doc: YamlDocument, kind: str) -> list[Problem]:
    """All schema violations of ``doc`` (kind: catalog, levels or competency), most specific first."""
    try:
        fast_validator(kind)(doc.data)
        if not _holds_a_fraction(doc.data):  # no field of the catalogue is a decimal number: 2.0 is wrong too
            return []
    except fastjsonschema.JsonSchemaException:
        pass  # invalid: let jsonschema find and locate every error
    if not isinstance(doc.data, dict):
        return [doc.problem((), f"the file holds {_describe(doc.data)}", _TYPE_NAMES["object"] + f" as described in catalog/schema/{kind}.schema.json")]
    problems = []
    for error in reference_validator(kind).iter_errors(doc.data):
        problems.extend(_explain(doc, error))
    return problems


def _leaf_errors(error: "jsonschema.ValidationError") -> "list[jsonschema.ValidationError]":
    """For a wrapper error whose cause is nested (e.g. through $ref), keep the innermost ones."""
    if error.context:
        return [leaf for sub in error.context for leaf in _leaf_errors(sub)]
    return [error]


def _field_name(at: tuple) -> str:
    parts = [f"[{p + 1}]" if isinstance(p, int) else (("." if i else "") + p) for i, p in enumerate(at)]
    return "".join(parts) or "the document"


def _explain(doc: YamlDocument, error: "jsonschema.ValidationError") -> list[Problem]:
    at = tuple(error.absolute_path)
    expected = error.schema.get("x-expected", "") if isinstance(error.schema, dict) else ""
    name = _field_name(at)
    kind = error.validator
    if kind == "required":
        missing = [field for field in error.validator_value if field not in error.instance]
        if missing == ["nl"] and "propertyNames" in error.schema:  # a text without its source language
            return [doc.problem(at, f"{name} has no Dutch (nl) text",
                                "an 'nl' version: Dutch is the source language of every text")]
        return [doc.problem(at, f"missing required field '{field}' in {name}",
                            _expected_for(error, field) or f"a '{field}' field") for field in missing]
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        problems = []
        for field in error.instance:
            if field in allowed:
                continue
            if not allowed:  # an open map (a text) whose values are wrong, not an unknown key
                value_schema = error.schema.get("additionalProperties", {})
                problems.append(doc.problem(at + (field,), f"{_field_name(at + (field,))} is {_describe(error.instance[field])}",
                                            value_schema.get("x-expected", "")))
                continue
            guess = difflib.get_close_matches(field, allowed, n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            problems.append(doc.problem(at + (field,), f"unknown field '{field}' in {name}",
                                        f"{hint}allowed fields: {', '.join(allowed)}", on_key=True))
        return problems
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [doc.problem(at, f"{name} is {_describe(error.instance)}",
                            expected or " or ".join(_TYPE_NAMES.get(t, t) for t in wanted))]
    if "propertyNames" in error.relative_schema_path:
        key = str(error.instance)
        return [doc.problem(at + (key,), f"malformed language tag '{key}' in {name}",
                            expected or "a language tag such as nl or en", on_key=True)]
    if kind == "pattern" and isinstance(error.instance, str) and not error.instance.strip():
        return [doc.problem(at, f"{name} is empty", expected or "a non-empty text")]
    if kind == "pattern":
        what = "text" if len(at) and at[-1] in ("nl", "en") else "value"
        return [doc.problem(at, f"{name}: {what} {error.instance!r} is not valid", expected or f"text matching {error.validator_value}")]
    if kind in ("minimum", "maximum"):
        return [doc.problem(at, f"{name}: {error.instance!r} is out of range", expected)]
    if kind == "minItems":
        return [doc.problem(at, f"{name} is empty" if not error.instance else f"{name} has too few entries", expected)]
    if kind == "minLength":
        return [doc.problem(at, f"{name} is empty", expected or "a non-empty text")]
    if kind == "enum":
        return [doc.problem(at, f"{name}: {error.instance!r} is not allowed", expected or f"one of {error.validator_value}")]
    if error.context:
        return [p for leaf in _leaf_errors(error) for p in _explain(doc, leaf)]
    return [doc.problem(at, f"{name}: {error.message}", expected)]


@cache
def _shared_defs() -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / "defs.schema.json").read_text(encoding="utf-8"))["$defs"]


def shared_definition(name: str) -> dict[str, Any]:
    """One of the shared definitions of defs.schema.json (slug, iri, baseIri, …)."""
    return _shared_defs()[name]


def _expected_for(error: "jsonschema.ValidationError", field: str) -> str:
    """The schema's human wording of what ``field`` should hold, following a shared $ref."""
    sub = error.schema.get("properties", {}).get(field, {})
    ref = sub.get("$ref", "")
    if ref.startswith("defs.schema.json#/$defs/"):
        sub = _shared_defs()[ref.rsplit("/", 1)[1]]
    return sub.get("x-expected", "")


def _holds_a_fraction(value: Any) -> bool:
    """Whether a number written with a point (``2.0``) is anywhere in the document; the fast check lets it pass."""
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_holds_a_fraction(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_a_fraction(item) for item in value)
    return False


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a whole number ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
