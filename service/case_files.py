"""The CASE 1.1 API answered from the package files of a release folder (``ckg serve --store``).

Why not a :class:`~service.case_api.CaseApi`: that one makes objects from the whole graph in memory. A site
served from an engine has no graph; at 20,000 competencies making one cost each worker a full read of the
engine (about a minute) and ~3 GiB for the life of the worker. The release files are written once per site
by a child process (``service.store_write``), and the two CFPackages (one per language) hold every object of
the API, made by the same code in the same order. So a child writes the packages and an index (SQLite)
saying where each object starts and ends, which competency it comes from and, for an association, which
items it joins; a request then reads one object's bytes and nothing else, and a worker holds only the
documents and definitions.

The package layout this reads is ``exports.case.write_package``'s: one top-level key per line, each object
of the three arrays starting with a line ``    {`` and ending with ``    }``. ``tests/test_case_files.py``
compares every answer with ``CaseApi``'s.
"""
from __future__ import annotations

import mmap
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

import orjson

from exports.case import FILE_SUFFIXES, LANGUAGES, item_id
from exports.release import BASENAME
from ontology.namespaces import CKG

from .case_api import CaseAnswers, _with

_ARRAYS = {b"CFItems": "items", b"CFAssociations": "associations", b"CFRubrics": "rubrics"}
_KEY = re.compile(rb'\n  "(\w+)": ')
"""A top-level key of a package: two spaces in (everything inside an object is indented further)."""
INDEX = "index.sqlite"
"""The index's name in the folder of the packages it indexes."""
SHARED = -1
"""The part of an object of the shared nodes (clusters, generic levels, the document's translation)."""


def package_path(folder: Path, language: str) -> Path:
    """The CFPackage of ``language`` in a release folder."""
    return folder / f"{BASENAME}.{FILE_SUFFIXES[language]}"


def _scan(path: Path) -> Iterator[tuple[str, int, bytes]]:
    """(array or key, offset, bytes) of each object of the three arrays, and of each other top-level value.

    Found with ``bytes.find`` over the mapped file rather than line by line: at 20,000 competencies the
    packages hold millions of lines, and a Python loop over them was most of the index's time."""
    with open(path, "rb") as package, mmap.mmap(package.fileno(), 0, access=mmap.ACCESS_READ) as data:
        keys = list(_KEY.finditer(data))
        ends = [k.start() for k in keys[1:]] + [data.rfind(b"\n}")]
        for key, stop in zip(keys, ends):
            name = key[1]
            if name not in _ARRAYS:
                yield name.decode("ascii"), 0, data[key.end():stop].rstrip(b",")
                continue
            at = key.end()
            while (begin := data.find(b"\n    {\n", at, stop)) != -1:
                close = data.find(b"\n    }", begin + 1, stop)
                at = close + len(b"\n    }")
                yield _ARRAYS[name], begin + 1, data[begin + 1:at]


def write_index(folder: Path, index: Path) -> int:
    """Index both packages of ``folder`` into ``index`` (written beside, then renamed); returns the object count."""
    partial = index.with_name(index.name + ".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")  # a partial file, renamed when whole
    db.executescript("""
        CREATE TABLE head (language TEXT PRIMARY KEY, document BLOB NOT NULL, definitions BLOB NOT NULL);
        CREATE TABLE objects (identifier TEXT NOT NULL, kind TEXT NOT NULL, language TEXT NOT NULL,
                              part INTEGER NOT NULL, start INTEGER NOT NULL, length INTEGER NOT NULL,
                              origin TEXT, destination TEXT, PRIMARY KEY (identifier, kind)) WITHOUT ROWID;
    """)
    count = 0
    for language in LANGUAGES:
        competency_type = item_id(CKG + "Competency", language)
        head: dict[str, bytes] = {}
        parts: dict[str, int] = {}
        """Part of each item identifier: an association belongs to the competency of the item it starts from."""
        part, rubrics, rows = SHARED, SHARED, []
        for kind, start, text in _scan(package_path(folder, language)):
            if kind not in _ARRAYS.values():
                head[kind] = text
                continue
            obj = orjson.loads(text)
            origin = destination = None
            if kind == "items":
                if obj["CFItemTypeURI"]["identifier"] == competency_type:
                    part += 1
                parts[obj["identifier"]] = owner = part
            elif kind == "associations":
                origin, destination = obj["originNodeURI"]["identifier"], obj["destinationNodeURI"]["identifier"]
                owner = parts.get(origin, SHARED)
            else:
                rubrics += 1
                owner = rubrics
            rows.append((obj["identifier"], kind, language, owner, start, len(text), origin, destination))
        rows.sort(key=lambda row: (row[0], row[1]))  # in key order: the B-tree grows at its end
        db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute("INSERT INTO head VALUES (?, ?, ?)", (language, head["CFDocument"], head["CFDefinitions"]))
        count += len(rows)
    db.executescript("CREATE INDEX by_origin ON objects (origin); CREATE INDEX by_destination ON objects (destination);")
    db.commit()
    db.close()
    os.replace(partial, index)
    return count


class FileCaseApi(CaseAnswers):
    """The read API over a folder holding both packages and their index (module docstring)."""

    def __init__(self, folder: Path, index: Path):
        self.files = {language: package_path(folder, language) for language in LANGUAGES}
        self._uri = f"file:{index}?mode=ro&immutable=1"  # written once, before any reader opens it
        self._local = threading.local()
        self._descriptors = {language: os.open(path, os.O_RDONLY) for language, path in self.files.items()}
        """Read with ``os.pread``: no shared file position, so every thread uses the same descriptor."""
        self.documents, self.languages, self.document_links = {}, {}, {}
        self.definitions: dict[str, dict[str, dict[str, Any]]] = {}
        db = self._db()
        for language in LANGUAGES:
            document, definitions = db.execute("SELECT document, definitions FROM head WHERE language = ?", (language,)).fetchone()
            document = orjson.loads(document)
            identifier = document["identifier"]
            link = {"title": document["title"], "identifier": identifier, "uri": document["uri"]}
            package = document["uri"].rpartition("CFDocuments/")[0] + f"CFPackages/{identifier}"
            self.documents[identifier] = _with(document, "CFPackageURI", {**link, "uri": package})
            self.languages[identifier] = language
            self.document_links[language] = link
            for key, objects in orjson.loads(definitions).items():
                kept = self.definitions.setdefault(key, {})
                for obj in objects:
                    kept[obj["identifier"]] = obj

    def _db(self) -> sqlite3.Connection:
        found = getattr(self._local, "db", None)
        if found is None:
            found = self._local.db = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
        return found

    def _read(self, kind: str, language: str, start: int, length: int) -> dict[str, Any]:
        obj = orjson.loads(os.pread(self._descriptors[language], length, start))
        return obj if kind == "rubrics" else _with(obj, "CFDocumentURI", self.document_links[language])

    def _find(self, identifier: str, kind: str) -> dict[str, Any] | None:
        row = self._db().execute("SELECT language, start, length FROM objects WHERE identifier = ? AND kind = ?",
                                 (identifier, kind)).fetchone()
        return None if row is None else self._read(kind, *row)

    def _item_associations(self, identifier: str) -> dict[str, Any] | None:
        """As ``CaseApi``: for a shared item every association that joins it (the shared ones first, then
        competency by competency, one language after the other); else those of its own competency."""
        db = self._db()
        row = db.execute("SELECT part, language, start, length FROM objects WHERE identifier = ? AND kind = 'items'",
                         (identifier,)).fetchone()
        if row is None:
            return None
        part = row[0]
        rank = " ".join(f"WHEN '{language}' THEN {n}" for n, language in enumerate(LANGUAGES))
        found = db.execute(f"""
            SELECT language, start, length FROM objects
            WHERE kind = 'associations' AND (origin = ?1 OR destination = ?1) AND (?2 = {SHARED} OR part = ?2)
            ORDER BY part != {SHARED}, CASE language {rank} END, part, start""", (identifier, part)).fetchall()
        return {"CFItem": self._read("items", *row[1:]),
                "CFAssociations": [self._read("associations", *place) for place in found]}

    def package_file(self, identifier: str) -> Path | None:
        language = self.languages.get(identifier)
        return None if language is None else self.files[language]
