"""The CASE 1.1 read API as plain functions: (endpoint, identifier, query arguments) → (status, JSON, headers).

No Flask here, so every answer and every refusal can be tested without a server, and the HTTP
blueprint (service/case.py) stays a few lines. The objects are exactly those of the exported
CFPackages (exports/case.py); the REST binding adds only the links back to the document
(``CFPackageURI`` on a document, ``CFDocumentURI`` on an item or association). Errors use
1EdTech's ``imsx_StatusInfo`` form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

from exports.case import LANGUAGES, CaseFramework
from ontology.graph import CatalogueGraph

COLLECTION_PARAMETERS = ("limit", "offset", "sort", "orderBy", "filter", "fields")
"""The optional query parameters of the specification; only CFDocuments (all) is a collection here."""
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_FILTER = re.compile(r"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|>=|<=|=|>|<|~)\s*'(?P<value>[^']*)'\s*$")
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "~": lambda a, b: b.lower() in a.lower(),
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def status_info(status: int, minor: str, description: str) -> Answer:
    """A refusal in the form every 1EdTech REST binding uses (imsx_StatusInfo)."""
    return Answer(status, {
        "imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldName": "sourcedId", "imsx_codeMinorFieldValue": minor}]},
    })


class CaseApi:
    """Every CASE object of one graph, indexed by identifier, in both languages; built once per site."""

    def __init__(self, graph: CatalogueGraph):
        framework = CaseFramework(graph)
        self.documents: dict[str, dict[str, Any]] = {}
        self.packages: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.associations: dict[str, dict[str, Any]] = {}
        self.by_item: dict[str, list[dict[str, Any]]] = {}
        self.rubrics: dict[str, dict[str, Any]] = {}
        self.definitions: dict[str, dict[str, dict[str, Any]]] = {
            key: {} for key in ("CFItemTypes", "CFConcepts", "CFSubjects", "CFLicenses", "CFAssociationGroupings")}
        self.by_iri: dict[tuple[str, str], dict[str, Any]] = {}
        """Items by (Linked Data IRI, language of their document): how a page finds its CASE item."""
        self.frameworks: dict[str, str] = {}
        for language in LANGUAGES:
            package = framework.package(language)
            self.frameworks[language] = package["CFDocument"]["title"]
            document = package["CFDocument"]
            link = {"title": document["title"], "identifier": document["identifier"], "uri": document["uri"]}
            package_link = {**link, "uri": framework.uri("CFPackages", document["identifier"])}
            self.packages[document["identifier"]] = package
            self.documents[document["identifier"]] = _with(document, "CFPackageURI", package_link)
            for item in package["CFItems"]:
                self.items[item["identifier"]] = _with(item, "CFDocumentURI", link)
                self.by_iri[(item["extensions"]["linkedDataIRI"], language)] = item
            for association in package["CFAssociations"]:
                association = _with(association, "CFDocumentURI", link)
                self.associations[association["identifier"]] = association
                for end in ("originNodeURI", "destinationNodeURI"):
                    self.by_item.setdefault(association[end]["identifier"], []).append(association)
            for rubric in package["CFRubrics"]:
                self.rubrics[rubric["identifier"]] = rubric
            for key, objects in package["CFDefinitions"].items():
                for obj in objects:
                    self.definitions[key][obj["identifier"]] = obj
        self.routes: dict[str, Callable[[str], dict[str, Any] | None]] = {
            "CFDocuments": self.documents.get,
            "CFPackages": self.packages.get,
            "CFItems": self.items.get,
            "CFAssociations": self.associations.get,
            "CFItemAssociations": self._item_associations,
            "CFRubrics": self.rubrics.get,
            "CFItemTypes": lambda i: _set("CFItemTypes", self.definitions["CFItemTypes"].get(i)),
            "CFConcepts": lambda i: _set("CFConcepts", self.definitions["CFConcepts"].get(i)),
            "CFSubjects": lambda i: _set("CFSubjects", self.definitions["CFSubjects"].get(i)),
            "CFLicenses": self.definitions["CFLicenses"].get,
            "CFAssociationGroupings": self.definitions["CFAssociationGroupings"].get,
        }

    @cached_property
    def _types(self) -> dict[str, str]:
        return {t["identifier"]: t["typeCode"] for t in self.definitions["CFItemTypes"].values()}

    def _item_associations(self, identifier: str) -> dict[str, Any] | None:
        item = self.items.get(identifier)
        if item is None:
            return None
        return {"CFItem": item, "CFAssociations": self.by_item.get(identifier, [])}

    def alignment(self, iri: str, language: str) -> dict[str, Any] | None:
        """The Open Badges 3.0 ``Alignment`` a badge issuer pastes into an ``Achievement`` for ``iri``.

        Only competencies and competency levels are offered: they are what a badge certifies.
        ``targetUrl`` is our IRI, ``targetType`` "CFItem" and ``targetCode`` the CFItem's identifier,
        so a CASE-aware reader can fetch ``CFItems/{targetCode}``; the description of a competency
        level lists its behavioural criteria word for word (OB allows Markdown there).
        """
        item = self.by_iri.get((iri, language))
        kind = self._types.get(item["CFItemTypeURI"]["identifier"]) if item else None
        if kind not in ("Competency", "CompetencyLevel"):
            return None
        out: dict[str, Any] = {"type": ["Alignment"], "targetCode": item["identifier"]}
        if kind == "Competency":
            out["targetName"] = item.get("abbreviatedStatement", item["fullStatement"])
            if "abbreviatedStatement" in item:  # then fullStatement is the competency's definition
                out["targetDescription"] = item["fullStatement"]
        else:
            out["targetName"] = item["fullStatement"]
            children = sorted((a for a in self.by_item.get(item["identifier"], []) if a["associationType"] == "isChildOf"
                               and a["destinationNodeURI"]["identifier"] == item["identifier"]),
                              key=lambda a: a["sequenceNumber"])
            out["targetDescription"] = "\n".join(f"- {self.items[a['originNodeURI']['identifier']]['fullStatement']}"
                                                  for a in children)
        out["targetFramework"] = self.frameworks[language]
        out["targetType"] = "CFItem"
        out["targetUrl"] = iri
        return out

    def answer(self, endpoint: str, identifier: str | None, args: Mapping[str, Sequence[str]]) -> Answer:
        """The answer to ``GET {base}ims/case/v1p1/{endpoint}[/{identifier}]?{args}``."""
        if endpoint not in self.routes:
            return status_info(404, "unknownobject", f"there is no CASE endpoint '{endpoint}'; "
                               f"the endpoints are {', '.join(sorted(self.routes))}")
        if identifier is None:
            if endpoint != "CFDocuments":
                return status_info(404, "unknownobject", f"{endpoint} needs an identifier: {endpoint}/{{sourcedId}}; "
                                   "list the frameworks at CFDocuments")
            return self.all_documents(args)
        unknown = sorted(set(args))
        if unknown:
            return status_info(400, "invalid_selection_field", f"{endpoint}/{{sourcedId}} takes no query parameters "
                               f"(got {', '.join(unknown)}); limit, offset, sort, orderBy, filter and fields apply to CFDocuments")
        if not _UUID.match(identifier):
            return status_info(400, "invaliduuid", f"'{identifier}' is not a lower-case UUID (8-4-4-4-12 hexadecimal digits)")
        found = self.routes[endpoint](identifier)
        if found is None:
            return status_info(404, "unknownobject", f"nothing in {endpoint} has the identifier {identifier}; "
                               "the frameworks are listed at CFDocuments")
        return Answer(200, found)

    def all_documents(self, args: Mapping[str, Sequence[str]]) -> Answer:
        """CFDocuments with the specification's optional paging, sorting, filtering and field selection."""
        unknown = sorted(set(args) - set(COLLECTION_PARAMETERS))
        if unknown:
            return status_info(400, "invalid_selection_field", f"unsupported parameter {', '.join(unknown)}; "
                               f"CFDocuments takes {', '.join(COLLECTION_PARAMETERS)}")
        repeated = sorted(k for k, v in args.items() if len(v) > 1)
        if repeated:
            return status_info(400, "invalid_selection_field", f"give {', '.join(repeated)} once")
        one = {k: v[0] for k, v in args.items()}
        documents = [self.documents[i] for i in sorted(self.documents, key=lambda i: self.documents[i]["language"] != "nl")]
        known_fields = sorted({key for d in documents for key in d})
        try:
            limit = _integer(one, "limit", 100, 1)
            offset = _integer(one, "offset", 0, 0)
        except ValueError as error:
            return status_info(400, "invalid_selection_field", str(error))
        if "filter" in one:
            predicates = []
            for part in re.split(r"\s+AND\s+", one["filter"]):
                match = _FILTER.match(part)
                if not match or match["field"] not in known_fields:
                    return status_info(400, "invalid_filter_field", f"cannot filter by '{part.strip()}': write field<op>'value' "
                                       f"(op one of = != > >= < <= ~, several joined by AND) on one of {', '.join(known_fields)}")
                predicates.append(match)
            documents = [d for d in documents if all(isinstance(d.get(m["field"]), str) and
                                                     _OPERATORS[m["op"]](d[m["field"]], m["value"]) for m in predicates)]
        order = one.get("orderBy", "asc")
        if order not in ("asc", "desc"):
            return status_info(400, "invalid_sort_field", f"orderBy is 'asc' or 'desc', not '{order}'")
        if "sort" in one:
            if one["sort"] not in known_fields:
                return status_info(400, "invalid_sort_field", f"cannot sort by '{one['sort']}'; sort by one of {', '.join(known_fields)}")
            documents = sorted(documents, key=lambda d: str(d.get(one["sort"], "")), reverse=order == "desc")
        elif order == "desc":
            documents = list(reversed(documents))
        total = len(documents)
        documents = documents[offset:offset + limit]
        if "fields" in one:
            wanted = [f.strip() for f in one["fields"].split(",") if f.strip()]
            missing = [f for f in wanted if f not in known_fields]
            if missing or not wanted:
                return status_info(400, "invalid_selection_field", f"unknown field(s) {', '.join(missing) or '(none given)'}; "
                                   f"choose from {', '.join(known_fields)}")
            documents = [{k: v for k, v in d.items() if k in wanted} for d in documents]
        return Answer(200, {"CFDocuments": documents}, {"X-Total-Count": str(total)})


def _with(obj: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``obj`` with the REST binding's link to its document, placed before ``extensions``."""
    out = {k: v for k, v in obj.items() if k != "extensions"}
    out[key] = value
    if "extensions" in obj:
        out["extensions"] = obj["extensions"]
    return out


def _set(key: str, obj: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if obj is None else {key: [obj]}


def _integer(args: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    if name not in args:
        return default
    value = args[name]
    if not value.isdigit() or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not '{value}'")
    return int(value)

