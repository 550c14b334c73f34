"""The releases of a catalogue served from an engine (``ckg serve --store``): what ``service.archive`` reads
from the release folders, read from the engine instead.

``ckg publish`` loads every release into the named graph of its version IRI ``{base}release/<v>/`` and
records it, once complete, with its SHA-256 in the pointer graph (``exports.publication``). So:

- the releases are the recorded version graphs under our base; what a release says of itself (issued,
  previous, title, licence, its files) is read from its own graph, as the manifest was written from it;
- a resource as it was in a release is read from that release's graph per request, by the same queries
  as the current graph (a :class:`ReleaseCatalogue` is a ``StoreCatalogue`` over another graph);
- a release's change set is derived in the engine: the subjects whose statements differ between a
  release's graph and its predecessor's are found by one query each way, only those subjects' statements
  are fetched, and ``exports.changes.diff`` (the code ``ckg release`` wrote ``changes.json`` with) compares
  them; a resource only one side has needs just its replacements. Unchanged resources never leave the
  engine, and the first release (all "added") costs two queries. The change sets serve the feed, the
  What-changed pages and ``changes.json``;
- a page's history is computed for that resource alone, from its statements in every release graph
  (one query), by the same comparison, so no page waits for whole change sets;
- the change sets and a release's files are written once for every worker by a child process
  (``service.site_files``): the files from one full read of the release's graph (as ``/downloads/`` is,
  ``service.store_downloads``); a folder in ``CKG_DOWNLOADS_DIR`` is reused while its catalogue.nt has
  the SHA-256 recorded at publish time.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from pyoxigraph import Literal, NamedNode

from exports import publication
from exports.changes import bump_of, diff, summary, tracked
from exports.release import write_release
from ontology.model import ReleaseRecord
from ontology.namespaces import DCAT, DCT
from ontology.releases import CHANGES, MANIFEST, parse_version

from .archive import Gone, HistoryEntry, ArchivePages
from .caches import Lru
from .describe import Description
from .engine import Engine, iri
from .render import Options
from .site_files import SiteFiles
from .store_catalogue import BATCH, NAMES, StoreCatalogue, _in, _values
from .store_downloads import read_whole
from .store_view import View

HISTORIES_KEPT = 20_000
"""Resources whose release history a worker keeps (a few entries each; a page shows one)."""


class ReleaseCatalogue(StoreCatalogue):
    """A catalogue graph of the engine (the current one or a release's), with what release pages ask of an index.

    ``label``/``objects`` answer from the catalogue's names (``StoreCatalogue.names_of``), which
    ``StoreArchive.prefetch_names`` fills with one query for many IRIs (a "What changed" page names every
    changed resource).
    """

    def has(self, node: str) -> bool:
        """Whether the graph describes ``node`` (embedded mode: ``node in by_subject``)."""
        try:
            subject = iri(node)
        except ValueError:
            return False
        # a SELECT, not an ASK: Virtuoso answered this ASK (with a default-graph-uri) without a "boolean" (tests)
        return bool(self.engine.select(f"SELECT ?p WHERE {{ {subject} ?p ?o }} LIMIT 1"))

    def statements_of(self, iris: list[str]) -> dict[str, list]:
        """Each IRI's statements, in the order embedded mode's index of a release holds them (sorted per subject)."""
        found = []
        for start in range(0, len(iris), BATCH):
            found += self.engine.construct(f"""
                CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values(iris[start:start + BATCH])} }} ?s ?p ?o }}""")
        return View(self.base, self.page_size, found).by_subject

    def _index(self, node: str) -> View:
        return View(self.base, self.page_size, self.names_of([node])[node])

    def label(self, node: str) -> dict[str, str]:
        return self._index(node).label(node)

    def objects(self, node: str, predicate: str) -> list:
        return self._index(node).objects(node, predicate)


class StoreArchivePages:
    """Pages of a resource as it was in ``version``, written from that release's graph per request."""

    def __init__(self, catalogue: ReleaseCatalogue, scheme: str, version: str):
        self.catalogue = catalogue
        self.scheme = scheme
        self.version = version

    def render(self, description: Description, options: Options) -> str:
        number = int(dict(options.extra).get("page", 1))
        view = self.catalogue.page_view(description, number) if description.kind != "listing" \
            else self.catalogue.view(description.read())
        return ArchivePages(view, self.scheme, self.version).render(description, options)


class StoreArchive:
    """Every published release of the catalogue at ``base`` in the engine (the module docstring says how)."""

    def __init__(self, current: ReleaseCatalogue, page_size: int = 100, files: SiteFiles | None = None):
        engine, base = current.engine, current.base
        self.url, self.timeout, self.env = engine.url, engine.timeout, engine.env
        self.current_graph = engine.graph
        self.base = base
        self.page_size = page_size
        self.files = files
        """Where the children write this site's change sets and release files; None in a child itself."""
        self.records, self.sha256 = self._records(engine)
        self.current_version = self._current_version(engine)
        self._catalogues: dict[str, ReleaseCatalogue] = {"": current}
        self._written: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._change_sets: dict[str, dict[str, Any]] | None = None
        self._histories: Lru[str, list[HistoryEntry]] = Lru(HISTORIES_KEPT)
        self._reader = self.engine(None)
        """Asks across the release graphs (its queries name them), one kept-alive connection per thread."""

    # ---- start-up: which releases exist ----

    def graph_of(self, version: str) -> str:
        return f"{self.base}release/{version}/"

    def _records(self, engine: Engine) -> tuple[dict[str, ReleaseRecord], dict[str, str]]:
        """The recorded (so complete) release graphs under our base, described from their own graphs."""
        prefix = f"{self.base}release/"
        rows = engine.select(f"""
            SELECT ?release ?sha256 ?issued ?previous ?license ?title ?file ?media WHERE {{
              GRAPH <{publication.POINTER_GRAPH}> {{ ?release <{publication.CONTENT_SHA256}> ?sha256 }}
              FILTER(STRSTARTS(STR(?release), "{prefix}"))
              GRAPH ?release {{
                ?release <{DCT}issued> ?issued .
                OPTIONAL {{ ?release <{DCAT}previousVersion> ?previous }}
                OPTIONAL {{ ?release <{DCT}license> ?license }}
                OPTIONAL {{ ?release <{DCT}title> ?title }}
                OPTIONAL {{ ?release <{DCAT}distribution> ?file . ?file <{DCAT}mediaType> ?media }}
              }}
            }}""", dataset=False)
        found: dict[str, dict[str, Any]] = {}
        sha: dict[str, str] = {}
        for row in rows:
            version = row["release"].value[len(prefix):].rstrip("/")
            if "/" in version or parse_version(version) is None:
                continue
            entry = found.setdefault(version, {"issued": row["issued"].value, "previous": None, "license": "",
                                               "title": {}, "files": {}})
            sha[version] = row["sha256"].value
            if "previous" in row:
                entry["previous"] = row["previous"].value[len(prefix):].rstrip("/")
            if "license" in row:
                entry["license"] = row["license"].value
            if "title" in row and isinstance(row["title"], Literal):
                entry["title"][row["title"].language or ""] = row["title"].value
            if "file" in row:
                entry["files"][row["file"].value.rsplit("/", 1)[-1]] = row["media"].value.split("/assignments/media-types/")[-1]
        records = {version: ReleaseRecord(version=version, issued=e["issued"], previous=e["previous"], title=e["title"],
                                          license=e["license"], files=tuple(sorted(e["files"].items())), base=self.base)
                   for version, e in found.items()}
        return records, sha

    def _current_version(self, engine: Engine) -> str | None:
        rows = engine.select(f"SELECT ?v WHERE {{ {iri(self.base)} <{DCAT}version> ?v }}")
        return rows[0]["v"].value if rows else None

    def engine(self, graph: str | None) -> Engine:
        return Engine(self.url, graph, timeout=self.timeout, env=self.env)

    # ---- what service.archive.Archive answers ----

    def versions(self) -> list[str]:
        """Released versions, newest first."""
        return sorted(self.records, key=parse_version, reverse=True)

    def catalogue(self, version: str | None) -> ReleaseCatalogue:
        """The catalogue graph of ``version`` (None: the current graph), made on first use (one small query)."""
        key = version or ""
        with self._lock:
            found = self._catalogues.get(key)
        if found is None:
            graph = self.graph_of(version) if version else self.current_graph
            found = ReleaseCatalogue(self.engine(graph), self.base, self.page_size)
            with self._lock:
                found = self._catalogues.setdefault(key, found)
        return found

    def descriptions(self, version: str) -> tuple[ReleaseCatalogue, StoreArchivePages] | None:
        if version not in self.records:
            return None
        catalogue = self.catalogue(version)
        return catalogue, StoreArchivePages(catalogue, catalogue.iris.scheme, version)

    def rebase(self, iri_: str, version: str) -> str:
        return iri_  # ckg publish loaded every release under the served base already

    def changes(self, version: str) -> dict[str, Any]:
        return self.change_sets().get(version, {"changes": []})

    def history(self, iri_: str) -> list[HistoryEntry]:
        """What each release did to ``iri_``, from that one resource's statements in every release graph
        (one query), compared as ``ckg release`` compared them (``exports.changes.diff``, per resource).

        Not from the whole change sets: deriving those (``change_sets``, which the feed and the What-changed
        pages need) took a worker's first history page 84-92 s at 20,000 competencies (bench/RESULTS.md,
        ``bench/store_first.py``), and every page shows a history. Kept per worker, least recently used out."""
        if not self.records or not tracked(iri_, self.base):
            return []
        return self._histories.get(iri_, lambda: self._history_of(iri_)) or []

    def _history_of(self, iri_: str) -> list[HistoryEntry]:
        try:
            subject = iri(iri_)
        except ValueError:
            return []
        versions = sorted(self.records, key=parse_version)
        version_of = {self.graph_of(version): version for version in versions}
        lines: dict[str, set[str]] = {version: set() for version in versions}
        graphs = " ".join(iri(graph) for graph in version_of)
        for row in self._reader.select(f"SELECT ?g ?p ?o WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ {subject} ?p ?o }} }}",
                                       dataset=False):
            lines[version_of[row["g"].value]].add(f"{row['p']} {row['o']}")
        entries = []
        for version in versions:
            previous = self._previous(version)
            old = {iri_: frozenset(lines[previous])} if previous and lines[previous] else {}
            new = {iri_: frozenset(lines[version])} if lines[version] else {}
            entries += [HistoryEntry.of(version, self.records[version].issued, c.as_json())
                        for c in diff(old, new, self.base)]
        return entries

    def _previous(self, version: str) -> str | None:
        """The release before ``version``, if it is one of the recorded ones (as ``_change_set`` compares)."""
        previous = self.records[version].previous
        return previous if previous in self.records else None

    def gone(self, iri_: str) -> Gone | None:
        entries = self.history(iri_)
        if not entries or entries[-1].change != "removed":
            return None
        removed_in = entries[-1].version
        return Gone(iri_, removed_in, self._previous(removed_in) or removed_in, entries[-1].replaced_by)

    # ---- change sets, derived in the engine ----

    def change_sets(self) -> dict[str, dict[str, Any]]:
        """Every release's change set, derived once for every worker by a child process (``service.site_files``):
        at 20,000 competencies the derivation took a worker about a minute, longer than a proxy waits."""
        found = self._change_sets
        if found is not None:
            return found
        if self.files is None:
            found = self.derive_change_sets()
        else:
            folder = self.files.changes().result()  # 503 while the child derives them
            found = {version: json.loads((folder / f"{version}.json").read_text(encoding="utf-8"))
                     for version in sorted(self.records, key=parse_version)}
        self._change_sets = found
        return found

    def derive_change_sets(self) -> dict[str, dict[str, Any]]:
        """Every release's change set, from the engine (what the child that writes them runs)."""
        return {version: self._change_set(version) for version in sorted(self.records, key=parse_version)}

    def _change_set(self, version: str) -> dict[str, Any]:
        """What ``ckg release`` wrote as changes.json for ``version``, computed from the two graphs.

        Only a resource in both graphs with other statements needs its statements compared; one added or
        removed needs just its replacements (``dct:isReplacedBy``), so the first release, all "added",
        costs two queries rather than a read of the whole graph."""
        record, previous = self.records[version], self._previous(version)
        new_graph = self.graph_of(version)
        old_graph = self.graph_of(previous) if previous else None
        new_side = self._differing(new_graph, old_graph)
        old_side = self._differing(old_graph, new_graph) if old_graph else {}
        added = {s for s, there in new_side.items() if not there}
        removed = {s for s, there in old_side.items() if not there}
        changed = sorted((new_side.keys() | old_side.keys()) - added - removed)
        old = {**self._replacements(old_graph, removed), **self._snapshot(old_graph, changed)} if old_graph else {}
        new = {**self._replacements(new_graph, added), **self._snapshot(new_graph, changed)}
        changes = diff(old, new, self.base)
        return {"version": version, "previous": previous, "issued": record.issued,
                "bump": bump_of(previous, version) if previous else None,
                "counts": summary(changes), "changes": [c.as_json() for c in changes]}

    def _differing(self, graph: str, other: str | None) -> dict[str, bool]:
        """Tracked subjects with a statement in ``graph`` that ``other`` lacks (all of them if no other), each
        with whether ``other`` has the subject at all."""
        if other:
            absent = f"""FILTER NOT EXISTS {{ GRAPH <{other}> {{ ?s ?p ?o }} }}
                         BIND(EXISTS {{ GRAPH <{other}> {{ ?s ?q ?x }} }} AS ?there)"""
        else:
            absent = ""
        rows = self.engine(None).select(f"""
            SELECT DISTINCT ?s ?there WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }}
              FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{self.base}")) {absent} }}""", dataset=False)
        return {row["s"].value: "there" in row and row["there"].value in ("true", "1")
                for row in rows if tracked(row["s"].value, self.base)}

    def _replacements(self, graph: str, subjects: set[str]) -> dict[str, frozenset[str]]:
        """The snapshot of resources only one side has: their ``dct:isReplacedBy`` statements, all ``diff`` reads."""
        if not subjects:
            return {}
        found: dict[str, set[str]] = {s: set() for s in subjects}
        for row in self.engine(graph).select(f"SELECT ?s ?o WHERE {{ ?s <{DCT}isReplacedBy> ?o }}"):
            if row["s"].value in found:
                found[row["s"].value].add(f"<{DCT}isReplacedBy> <{row['o'].value}>")
        return {s: frozenset(lines) for s, lines in found.items()}

    def _snapshot(self, graph: str, subjects: list[str]) -> dict[str, frozenset[str]]:
        """``exports.changes``' snapshot of ``graph``, for ``subjects`` only."""
        engine = self.engine(graph)
        found: dict[str, set[str]] = {}
        for start in range(0, len(subjects), BATCH):
            chunk = subjects[start:start + BATCH]
            for t in engine.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values(chunk)} }} ?s ?p ?o }}"):
                found.setdefault(t.subject.value, set()).add(f"{t.predicate} {t.object}")
        return {s: frozenset(lines) for s, lines in found.items()}

    # ---- the release's files, written on first use ----

    def names(self, version: str) -> set[str]:
        return {name for name, _ in self.records[version].files} | {MANIFEST, CHANGES}

    def manifest(self, version: str) -> dict[str, Any]:
        return self._files(version)

    def file(self, version: str, name: str) -> tuple[Path, str, str] | None:
        """(path, media type, sha256) of a release file, or None; the files are written when first asked for."""
        if version not in self.records or name not in self.names(version):
            return None
        manifest = self._files(version)
        folder = Path(manifest["folder"])
        for entry in manifest["files"]:
            if entry["name"] == name:
                return folder / name, entry["media_type"], entry["sha256"]
        return folder / name, "application/json", ""

    def _files(self, version: str) -> dict[str, Any]:
        """The manifest of a release's files, written once for every worker by a child process (``write_files``)."""
        found = self._written.get(version)
        if found is None:
            assert self.files is not None, "a release's files are written by a site's child process"
            folder = self.files.release(version).result()  # 503 while the child writes them
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            found = self._written[version] = {**manifest, "folder": str(folder)}
        return found

    def write_files(self, version: str, folder: Path) -> None:
        """The files of release ``version`` from one full read of its graph, with its change set; a folder that
        already holds them (its catalogue.nt has the SHA-256 recorded at publish time) is kept as it is."""
        manifest_path = folder / MANIFEST
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if _sha_of(manifest, "catalogue.nt") == self.sha256[version]:
                return
        record = self.records[version]
        graph = read_whole(self.engine(self.graph_of(version)), self.base)
        modified = next((s[2].value for s in graph.shared if s[0].value == self.graph_of(version)
                         and s[1].value == DCT + "modified"), record.issued)
        metadata = {"title": _titles(record.title), "version": version, "base": self.base,
                    "issued": record.issued, "modified": modified, "previous": record.previous,
                    "license": record.license}
        write_release(graph, folder, metadata=metadata)
        del graph
        change_set = self._change_set(version)
        (folder / CHANGES).write_text(json.dumps(change_set, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    # ---- what the release pages read besides (service.releases) ----

    def prefetch_names(self, version: str, iris: list[str]) -> None:
        if version in self.records:
            self.catalogue(version).names_of(iris)

    def release_description(self, version: str) -> Description:
        """``{base}release/<v>/`` and its distributions, from the current graph, with the names of what they link to."""
        node = self.graph_of(version)
        triples = self.catalogue(None).engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ VALUES ?s {{ {iri(node)} }} ?s ?p ?o }}
              UNION {{ {iri(node)} <{DCAT}distribution> ?s . ?s ?p ?o }}
            }}""")
        return Description(node, "release", self._with_names(triples))

    def releases_description(self) -> Description:
        """``{base}release/``: the dataset's version links and each released version's own statements."""
        values = _values(self.graph_of(v) for v in self.versions())
        released = f"UNION {{ VALUES ?s {{ {values} }} ?s ?p ?o }}" if values else ""
        triples = self.catalogue(None).engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ VALUES ?s {{ {iri(self.base)} }} ?s ?p ?o . FILTER(?p IN (<{DCAT}hasVersion>, <{DCAT}hasCurrentVersion>)) }}
              {released}
            }}""")
        return Description(f"{self.base}release/", "releases", self._with_names(triples))

    def _with_names(self, triples: list) -> list:
        linked = sorted({t.object.value for t in triples if isinstance(t.object, NamedNode)})
        names = self.catalogue(None).engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values(linked)} }} ?s ?p ?o . FILTER(?p IN ({_in(NAMES)})) }}
            """) if linked else []
        return View(self.base, self.page_size, [*triples, *names]).with_link_labels(list(triples))


def _titles(title: dict[str, str]) -> dict[str, str]:
    """The title's languages in the catalogue's order (Dutch first, as catalog.yaml writes them), then the rest."""
    order = ["nl", "en"]
    return {lang: title[lang] for lang in sorted(title, key=lambda lang: (order.index(lang) if lang in order else 2, lang))}


def _sha_of(manifest: dict, name: str) -> str | None:
    return next((f.get("sha256") for f in manifest.get("files", ()) if f.get("name") == name), None)
