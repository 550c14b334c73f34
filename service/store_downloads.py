"""``/downloads/`` with ``--store``: the release files written on first use from one full read of the engine's graph.

Embedded mode writes the files from its compiled graph the first time they are asked for
(:class:`~service.release_folder.ReleaseFolder`); here the graph is read once from the engine (one
``CONSTRUCT`` of everything, as N-Triples), regrouped as the build groups it (the shared nodes, one
part per competency in slug order, the mappings last), handed to the same release writer, and then
dropped: only the files stay, on disk, as in embedded mode. Nothing else keeps the graph.

The regrouping follows ``ontology.build``: a statement belongs to the part of the competency its
subject's IRI is under, or that owns its subject (development offers), but ``X dct:replaces Y`` belongs
to Y's group (it is written with Y's deprecation); mapping sets, mapping records
(and the nodes under ``{base}mappings/``), the external concepts' names and the mapping links of nodes
outside any competency form the last group; the rest is shared.
"""
from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from pyoxigraph import NamedNode

from exports.jsonld import EMBEDDED
from ontology.graph import CatalogueGraph, Statement
from ontology.iris import Iris
from ontology.namespaces import DCT, OWL, RDF, SKOS, SSSOM

from .background_write import BackgroundWrite
from .release_folder import Release, ReleaseFolder
from .store_catalogue import StoreCatalogue

_RECORDS = {OWL + "Axiom", SSSOM + "MappingSet"}
_REPLACES = DCT + "replaces"


def regroup(triples: list, base: str) -> CatalogueGraph:
    """The statements grouped as the build groups them (module docstring)."""
    iris = Iris(base)
    by_subject: dict[str, list] = defaultdict(list)
    for t in triples:
        by_subject[t.subject.value].append(Statement(t.subject, t.predicate, t.object))
    owner: dict[str, str] = {}
    for subject in sorted(by_subject):
        slug = iris.competency_slug(subject)
        if slug is not None:
            owner[subject] = slug
    pending = list(owner)
    while pending:  # what a competency's nodes own (offers) is in its part too
        subject = pending.pop()
        for s in by_subject.get(subject, ()):
            if s[1].value in EMBEDDED and isinstance(s[2], NamedNode) and s[2].value not in owner:
                owner[s[2].value] = owner[subject]
                pending.append(s[2].value)
    records = {subject for subject, statements in by_subject.items()
               if any(s[1].value == RDF + "type" and s[2].value in _RECORDS for s in statements)}
    parts: dict[str, list] = defaultdict(list)
    shared, mappings = [], []
    for subject, statements in by_subject.items():
        replaces = [s for s in statements if s[1].value == _REPLACES]
        if replaces:  # written with the deprecation of its object, in the object's group (ontology.build)
            statements = [s for s in statements if s[1].value != _REPLACES]
            for s in replaces:
                (parts[owner[s[2].value]] if s[2].value in owner else shared).append(s)
        if subject in owner:
            parts[owner[subject]].extend(statements)
        elif subject in records or not subject.startswith(base) or subject.startswith(base + "mappings/"):
            mappings.extend(statements)
        else:
            for s in statements:
                is_link = s[1].value.startswith(SKOS) and s[1].value.endswith("Match")
                (mappings if is_link else shared).append(s)
    return CatalogueGraph(iris=iris, shared=shared, parts=[parts[slug] for slug in sorted(parts)], mappings=mappings)


class StoreReleaseFolder(ReleaseFolder):
    """The release of the engine's graph and the index of its CASE packages, written once per site by a child
    process (``service.background_write``) into ``CKG_DOWNLOADS_DIR`` or a private folder of this service."""

    def __init__(self, catalogue: StoreCatalogue, folder: str | None, store: str, timeout: float) -> None:
        super().__init__(None, None, folder)  # type: ignore[arg-type]  # the graph exists only in the child
        token = secrets.token_hex(8)
        """This site's: made here, in gunicorn's master, so every worker of this site shares it."""
        release = Path(folder) if folder else _private_folder(token) / "release"
        self.case_index = release.with_name(release.name + ".case.sqlite")
        job = {"store": store, "graph": catalogue.engine.graph, "base": catalogue.base, "index": str(self.case_index),
               "timeout": max(timeout, FULL_READ_TIMEOUT)}
        self.writing = BackgroundWrite(release, job, token, "the release files and CASE packages")
        self._private = None if folder else release.parent

    def close(self) -> None:
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)

    def get(self) -> Release:
        found = self._release
        if found is None:
            folder = self.writing.result()
            found = self._release = Release(folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
        return found


FULL_READ_TIMEOUT = 300.0
"""Seconds the child waits for the engine's next bytes: a full read may take minutes to start on some engines."""
_PRIVATE: list[Path] = []


def _private_folder(token: str) -> Path:
    """A folder for one site under this service's private temporary folder, made in the master and removed when
    the master exits (a site replaced by a reload is removed before: ``service.reload``)."""
    if not _PRIVATE:
        root = Path(tempfile.mkdtemp(prefix="ckg-store-"))
        _PRIVATE.append(root)
        atexit.register(_remove, root, os.getpid())
    return _PRIVATE[0] / token


def _remove(root: Path, owner: int) -> None:
    if os.getpid() == owner:  # not in a forked worker, which runs the same exit handlers
        shutil.rmtree(root, ignore_errors=True)
