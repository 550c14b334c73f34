"""The CASE 1.1 read API as plain functions: (endpoint, identifier, query arguments) → (status, JSON, headers).

No Flask here, so every answer and every refusal can be tested without a server, and the HTTP
blueprint (service/case.py) stays a few lines. The objects are exactly those of the exported
CFPackages (exports/case.py); the REST binding adds only the links back to the document
(``CFPackageURI`` on a document, ``CFDocumentURI`` on an item or association). Errors use
1EdTech's ``imsx_StatusInfo`` form.
"""
from __future__ import annotations

import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from exports.case import LANGUAGES, CaseFramework, item_id, rubric_identifier, write_package
from ontology.graph import CatalogueGraph, Statement
from ontology.namespaces import CKG, RDF

COLLECTION_PARAMETERS = ("limit", "offset", "sort", "orderBy", "filter", "fields")
"""The optional query parameters of the specification; only CFDocuments (all) is a collection here."""
_TYPE = RDF + "type"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_FILTER = re.compile(r"^\s*(?P<field>[A-Za-z]+)\s*(?P<op>!=|>=|<=|=|>|<|~)\s*'(?P<value>[^']*)'\s*$")
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "~": lambda a, b: b.lower() in a.lower(),
}


_KINDS = {"CFItems": "items", "CFAssociations": "associations", "CFRubrics": "rubrics"}
"""The endpoints answered by ``CaseAnswers._find``, and the kind of object each asks for."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    package_language: str | None = None
    """Set on a CFPackages answer: the body is the package file of that document (``CaseApi.package_file``)."""


def status_info(status: int, minor: str, description: str) -> Answer:
    """A refusal in the form every 1EdTech REST binding uses (imsx_StatusInfo)."""
    return Answer(status, {
        "imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": description,
        "imsx_codeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldName": "sourcedId", "imsx_codeMinorFieldValue": minor}]},
    })


class CaseAnswers:
    """The answers of the read API, over lookups a subclass provides: :class:`CaseApi` makes the objects from a
    graph in memory; ``service.case_files`` reads them from the package files a site from an engine wrote.

    A subclass sets ``documents`` (identifier -> CFDocument with its ``CFPackageURI``), ``languages``
    (document identifier -> language) and ``definitions`` (kind -> identifier -> object), and answers
    ``_find``, ``_item_associations`` and ``package_file``."""

    documents: dict[str, dict[str, Any]]
    languages: dict[str, str]
    definitions: dict[str, dict[str, dict[str, Any]]]
    ENDPOINTS = ("CFDocuments", "CFPackages", "CFItems", "CFAssociations", "CFItemAssociations", "CFRubrics",
                 "CFItemTypes", "CFConcepts", "CFSubjects", "CFLicenses", "CFAssociationGroupings")

    def _find(self, identifier: str, kind: str) -> dict[str, Any] | None:
        """The item, association or rubric (``kind``: items, associations, rubrics) with the REST links, else None."""
        raise NotImplementedError

    def _item_associations(self, identifier: str) -> dict[str, Any] | None:
        """``{"CFItem": ..., "CFAssociations": [...]}`` for item ``identifier``, else None."""
        raise NotImplementedError

    def package_file(self, identifier: str) -> Path | None:
        """The CFPackage of document ``identifier`` as a file, else None."""
        raise NotImplementedError

    def _lookup(self, endpoint: str, identifier: str) -> dict[str, Any] | None:
        if endpoint == "CFDocuments":
            return self.documents.get(identifier)
        if endpoint in _KINDS:
            return self._find(identifier, _KINDS[endpoint])
        if endpoint == "CFItemAssociations":
            return self._item_associations(identifier)
        found = self.definitions[endpoint].get(identifier)
        return _set(endpoint, found) if endpoint in ("CFItemTypes", "CFConcepts", "CFSubjects") else found

    def answer(self, endpoint: str, identifier: str | None, args: Mapping[str, Sequence[str]]) -> Answer:
        """The answer to ``GET {base}ims/case/v1p1/{endpoint}[/{identifier}]?{args}``."""
        if endpoint not in self.ENDPOINTS:
            return status_info(404, "unknownobject", f"there is no CASE endpoint '{endpoint}'; "
                               f"the endpoints are {', '.join(sorted(self.ENDPOINTS))}")
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
        if endpoint == "CFPackages":
            if identifier in self.languages:
                return Answer(200, {}, package_language=self.languages[identifier])
            found = None
        else:
            found = self._lookup(endpoint, identifier)
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


class CaseApi(CaseAnswers):
    """The CASE objects of one graph, found by identifier, in both languages.

    Only the shared objects (documents, definitions, clusters, generic levels) are kept whole. A
    competency's objects are made when asked for, from that competency's part of the graph, and the
    last few hundred are cached; an index maps each identifier to its competency part. So a worker
    holds identifiers, not millions of objects, and a single-item request maps one competency.
    Whole packages are streamed to a file once (``package_file``) and served from it.
    """

    def __init__(self, graph: CatalogueGraph, cache_size: int = 512):
        self.framework = framework = CaseFramework(graph)
        self.parts = graph.parts
        self.sequences = [sequence for _, sequence in framework.competency_sequences()]
        self.documents: dict[str, dict[str, Any]] = {}
        self.document_links: dict[str, dict[str, str]] = {}
        self.languages: dict[str, str] = {}
        """Language of each document identifier."""
        self.shared: dict[str, dict[str, Any]] = {}
        """Items and associations of the shared nodes (clusters, generic levels, document translation) by identifier."""
        self.definitions: dict[str, dict[str, dict[str, Any]]] = {
            key: {} for key in ("CFItemTypes", "CFConcepts", "CFSubjects", "CFLicenses", "CFAssociationGroupings")}
        self.frameworks: dict[str, str] = {}
        self._package_files: dict[str, Path] = {}
        self._folder: Path | None = None
        self._lock = threading.Lock()
        for language in LANGUAGES:
            document = framework.document(language)
            identifier = document["identifier"]
            link = {"title": document["title"], "identifier": identifier, "uri": document["uri"]}
            self.document_links[language] = link
            self.languages[identifier] = language
            self.frameworks[language] = document["title"]
            self.documents[identifier] = _with(document, "CFPackageURI", {**link, "uri": framework.uri("CFPackages", identifier)})
            items, associations = framework.shared_objects(language)
            for obj in items:
                self.shared[obj["identifier"]] = _with(obj, "CFDocumentURI", link)
            for obj in associations + framework.document_translation(language):
                self.shared[obj["identifier"]] = _with(obj, "CFDocumentURI", link)
            for key, objects in framework.definitions(language).items():
                for obj in objects:
                    self.definitions[key][obj["identifier"]] = obj
        self._types = {t["identifier"]: t["typeCode"] for t in self.definitions["CFItemTypes"].values()}
        self.objects = lru_cache(maxsize=cache_size)(self._objects)
        self.item_owners = self._item_owners()
        self.competency_parts = self._competency_parts()

    def _objects(self, index: int, language: str) -> dict[str, dict[str, dict[str, Any]]]:
        """One competency's items, associations and rubric by identifier, with the REST links (cached)."""
        return self.part_objects(self.parts[index], language, self.sequences[index])

    def part_objects(self, part: list[Statement], language: str, sequence: int = 1) -> dict[str, dict[str, dict[str, Any]]]:
        """The objects of one competency's ``part``, which need not be one of this API's parts: a site
        served from an engine keeps one API of the shared nodes and reads each competency when asked."""
        items, associations, rubrics = self.framework.competency_objects(part, language, sequence)
        link = self.document_links[language]
        return {"items": {o["identifier"]: _with(o, "CFDocumentURI", link) for o in items},
                "associations": {o["identifier"]: _with(o, "CFDocumentURI", link) for o in associations},
                "rubrics": {o["identifier"]: o for o in rubrics}}

    @cached_property
    def owners(self) -> dict[str, tuple[int, str]]:
        """Which competency part (and language) each association identifier comes from; built on first
        use from the IRIs (``CaseFramework.association_ids``), without making the associations."""
        owners: dict[str, tuple[int, str]] = {}
        for language in LANGUAGES:
            language = sys.intern(language)
            for index, part in enumerate(self.parts):
                for identifier in self.framework.association_ids(part, language):
                    owners[identifier] = (index, language)
        return owners

    def _item_owners(self) -> dict[str, tuple[int, str]]:
        """Part of each item and rubric identifier, computed from the IRIs alone (no objects made).

        Built with the API, in gunicorn's master before the workers fork, so no worker's first CFItems or
        CFRubrics request waits for it (about 5 s of CPU at 20,000 competencies, bench/case.py)."""
        classes = {CKG + name for name in ("Competency", "CompetencyLevel", "BehaviouralCriterion")}
        owners: dict[str, tuple[int, str]] = {}
        for index, part in enumerate(self.parts):
            for s in part:
                if s.predicate.value == _TYPE and s.object.value in classes:
                    for language in LANGUAGES:
                        owners[item_id(s.subject.value, language)] = (index, language)
                        if s.object.value == CKG + "Competency":
                            owners[rubric_identifier(s.subject.value, language)] = (index, language)
        return owners

    def _competency_parts(self) -> dict[str, int]:
        """Part index of each competency IRI (its competency levels share it), for the OB alignments."""
        competency = CKG + "Competency"
        return {s.subject.value: index for index, part in enumerate(self.parts) for s in part
                if s.predicate.value == _TYPE and s.object.value == competency}

    def _find(self, identifier: str, kind: str) -> dict[str, Any] | None:
        if kind != "rubrics" and identifier in self.shared:
            found = self.shared[identifier]
            is_item = "fullStatement" in found
            return found if is_item == (kind == "items") else None
        owner = (self.item_owners if kind in ("items", "rubrics") else self.owners).get(identifier)
        return None if owner is None else self.objects(*owner)[kind].get(identifier)

    def _item_associations(self, identifier: str) -> dict[str, Any] | None:
        item = self._find(identifier, "items")
        if item is None:
            return None
        if identifier in self.shared:  # a cluster or generic level: every competency may point at it
            places = [(index, language) for language in LANGUAGES for index in range(len(self.parts))]
            found = [a for a in self.shared.values() if "associationType" in a and _touches(a, identifier)]
        else:  # its own competency, in every language (translations point across)
            index, _ = self.item_owners[identifier]
            places = [(index, language) for language in LANGUAGES]
            found = []
        for place in places:
            found.extend(a for a in self.objects(*place)["associations"].values() if _touches(a, identifier))
        return {"CFItem": item, "CFAssociations": found}

    def package_file(self, identifier: str) -> Path | None:
        """The CFPackage of document ``identifier`` as a file, written (streamed) on first use into a private temporary folder."""
        language = self.languages.get(identifier)
        if language is None:
            return None
        with self._lock:
            if identifier not in self._package_files:
                if self._folder is None:
                    self._folder = Path(tempfile.mkdtemp(prefix="ckg-case-"))
                path = self._folder / f"case-{identifier}.json"
                with open(path, "wb") as out:
                    write_package(self.framework.graph, out, language)
                self._package_files[identifier] = path
            return self._package_files[identifier]

    def alignment(self, iri: str, language: str) -> dict[str, Any] | None:
        """The Open Badges 3.0 ``Alignment`` a badge issuer pastes into an ``Achievement`` for ``iri``.

        Only competencies and competency levels are offered: they are what a badge certifies.
        ``targetUrl`` is our IRI, ``targetType`` "CFItem" and ``targetCode`` the CFItem's identifier,
        so a CASE-aware reader can fetch ``CFItems/{targetCode}``; the description of a competency
        level lists its behavioural criteria word for word (OB allows Markdown there).
        """
        index = self.competency_parts.get(iri.split("/level/")[0])
        if index is None or language not in self.document_links:
            return None
        return self.alignment_in(self.objects(index, language), iri, language)

    def alignment_in(self, objects: dict[str, dict[str, dict[str, Any]]], iri: str, language: str) -> dict[str, Any] | None:
        """``alignment`` from the objects of the competency ``iri`` belongs to (``part_objects``)."""
        item = objects["items"].get(item_id(iri, language))
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
            children = sorted((a for a in objects["associations"].values() if a["associationType"] == "isChildOf"
                               and a["destinationNodeURI"]["identifier"] == item["identifier"]),
                              key=lambda a: a["sequenceNumber"])
            out["targetDescription"] = "\n".join(f"- {objects['items'][a['originNodeURI']['identifier']]['fullStatement']}"
                                                  for a in children)
        out["targetFramework"] = self.frameworks[language]
        out["targetType"] = "CFItem"
        out["targetUrl"] = iri
        return out


def _with(obj: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """``obj`` with the REST binding's link to its document, placed before ``extensions``."""
    out = {k: v for k, v in obj.items() if k != "extensions"}
    out[key] = value
    if "extensions" in obj:
        out["extensions"] = obj["extensions"]
    return out


def _touches(association: dict[str, Any], identifier: str) -> bool:
    return identifier in (association["originNodeURI"]["identifier"], association["destinationNodeURI"]["identifier"])


def _set(key: str, obj: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if obj is None else {key: [obj]}


def _integer(args: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    if name not in args:
        return default
    value = args[name]
    if not value.isdigit() or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not '{value}'")
    return int(value)

