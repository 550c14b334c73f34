"""The official CASE 1.1 JSON Schema, with format checking that is known to bite, for the CASE tests."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Iterator

from jsonschema import Draft201909Validator

SCHEMA_FILE = Path(__file__).parent / "fixtures" / "case" / "case_v1p1_cfpackage_schema.json"
SHARED_SCHEMA_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "case" / "case_v1p1_cfpackage_schema.json"
CHECKED_FORMATS = ("uuid", "date-time", "date", "uri")


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def validator(definition: str | None = None) -> Draft201909Validator:
    """A validator of the whole CFPackage, or of one ``$defs`` entry (e.g. "CFPckgItem"), checking formats."""
    target = schema() if definition is None else {**schema(), "$ref": f"#/$defs/{definition}"}
    if definition is not None:
        target = {k: v for k, v in target.items() if k not in ("properties", "required", "additionalProperties", "type")}
    return Draft201909Validator(target, format_checker=Draft201909Validator.FORMAT_CHECKER)


REST_LINKS = {"CFPckgDocument": "CFPackageURI", "CFPckgItem": "CFDocumentURI", "CFPckgAssociation": "CFDocumentURI"}
"""The one property the REST binding adds to a package object: the link to its package or document (a LinkURI)."""


def rest_validator(definition: str) -> Draft201909Validator:
    """The official ``$defs`` entry, still closed (additionalProperties false), plus only its REST link."""
    copied = json.loads(json.dumps(schema()))
    copied["$defs"][definition]["properties"][REST_LINKS[definition]] = {"$ref": "#/$defs/LinkURI"}
    copied["$defs"][definition]["required"] = [*copied["$defs"][definition].get("required", []), REST_LINKS[definition]]
    target = {k: v for k, v in copied.items() if k not in ("properties", "required", "additionalProperties", "type")}
    return Draft201909Validator({**target, "$ref": f"#/$defs/{definition}"}, format_checker=Draft201909Validator.FORMAT_CHECKER)


def errors(instance: Any, definition: str | None = None, rest: bool = False) -> list[str]:
    checker = rest_validator(definition) if rest else validator(definition)
    return [f"{list(e.absolute_path)}: {e.message}" for e in checker.iter_errors(instance)]


def uris(value: Any) -> Iterator[str]:
    """Every value under a "uri" key, anywhere in ``value``.

    The official schema types ``uri`` as a plain string (no ``format``), so the tests check these
    themselves: each must be an absolute URI (RFC 3987, the jsonschema "uri" format) and dereference.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "uri" and isinstance(item, str):
                yield item
            else:
                yield from uris(item)
    elif isinstance(value, list):
        for item in value:
            yield from uris(item)


def uri_errors(value: Any) -> list[str]:
    checker = Draft201909Validator.FORMAT_CHECKER
    return [uri for uri in uris(value) if not checker.conforms(uri, "uri")]
