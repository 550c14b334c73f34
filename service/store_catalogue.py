"""What ``ckg serve --store`` asks the engine, per request: the descriptions and page data of embedded mode.

Each answer is fetched when asked for and then forgotten (the render cache keeps the finished bytes):
one CONSTRUCT for a resource and what it owns (a competency with its levels and their criteria; see
``StoreCatalogue.resource``) and one for the names of what those link to that are not kept yet, a SELECT
and a CONSTRUCT per listing page, and one more query for the pages that show more than the resource's
own description (a level's competency levels, a criterion's owners...). Kept for the life of the site (a
publish that switches the graph makes a new site) are only what embedded mode computes once too, and
small: the dataset's description and statistics, the graph's size, which competency levels sit at each
generic level, which nodes are mapped and which mapping targets are named, and the names of the nodes
answers link to (bounded). The triples land in a :class:`~service.store_view.View` and the embedded code
describes and writes pages from it, so both modes answer alike.

Every query is written to fetch a superset of what the embedded description holds; ``View.described``
then keeps exactly the embedded selection. Orders that pages and listings show are computed here in
Python with the embedded keys, never left to an engine's collation.
"""
from __future__ import annotations

import re
import threading
from bisect import bisect_left
from functools import cache
from math import ceil
from typing import Callable

from pyoxigraph import NamedNode

from exports import publication
from exports.jsonld import EMBEDDED
from ontology.iris import Iris
from ontology.namespaces import CKG, DCAT, DCT, FOAF, OWL, RDF, RDFS, SCHEMA, SKOS, SSSOM, VCARD, VOID

from .describe import (CLUSTER_MEMBER, LABELS, LISTED, LISTINGS, MAPPING_SUMMARY, Description, Fact, Page,
                       _page_iri, kind_of, near_among, void_triples)
from .engine import Engine, EngineError, iri, shown, writable
from .store_view import View

_TYPE = RDF + "type"
_TARGET = OWL + "annotatedTarget"
NAMES = (_TYPE, *LABELS)
"""What the description of a linked node carries: its types and names."""
LINK_TEXTS = (*NAMES, CKG + "statement")
"""What a page's link to a node shows: its name, else (a criterion) its statement."""
OWNER = "(" + "|".join(f"<{p}>" for p in sorted(EMBEDDED)) + ")"
"""One step from a node to a node it owns."""
OWNED_DEPTH = 3
"""How many ownership steps are followed: the model has two (competency, level, criterion).

Not a ``*`` path: Virtuoso answers ``<x> (a|b)* ?s`` with nothing when the graph read is not the
first one loaded with those triples (tested), so the depths are spelled out (``owned``, for the
dataset) or read one query per step (``StoreCatalogue.resource``)."""


def owned(subject: str, var: str, rest: str) -> str:
    """``rest`` once per node ``subject`` owns (itself included) bound to ``var``, as union branches.

    Each branch is a self-contained pattern: Oxigraph evaluates a union group joined with a later
    triple pattern by scanning that pattern (380 ms instead of 5 ms at 33,000 triples)."""
    steps = [f"VALUES {var} {{ {subject} }}"] + [f"{subject} {'/'.join([OWNER] * n)} {var} ." for n in range(1, OWNED_DEPTH + 1)]
    return " UNION ".join(f"{{ {step} {rest} }}" for step in steps)


def _in(predicates) -> str:
    return ", ".join(f"<{p}>" for p in predicates)


def _values(iris) -> str:
    return " ".join(iri(i) for i in iris)


_OWNING = ", ".join(f"<{p}>" for p in sorted(EMBEDDED))
"""The owning predicates, for ``FILTER(?e IN (...))``: a join through ?e with this filter costs Oxigraph less
than the alternation path ``(a|b|c)`` (1.6 vs 1.9 ms for a competency's three steps)."""


_SHORT = {"ckg": CKG, "skos": SKOS, "rdf": RDF, "rdfs": RDFS, "owl": OWL, "schema": SCHEMA, "foaf": FOAF,
          "dct": DCT, "vcard": VCARD, "sssom": SSSOM}
PREFIXES = "".join(f"PREFIX {name}: <{namespace}> " for name, namespace in _SHORT.items())
"""Declared before the resource query, whose predicate lists repeat in every branch: with prefixed names
the query is half as long (7.9 -> 4.1 kB for a competency), which halves our encoding of it and cut
Oxigraph's time for it by a tenth (5.3 -> 4.7 ms)."""


def _compact(text: str) -> str:
    """``text`` with every ``<IRI>`` in one of ``_SHORT``'s namespaces written as a prefixed name."""
    for name, namespace in _SHORT.items():
        text = re.sub("<" + re.escape(namespace) + r"([A-Za-z_][A-Za-z0-9_]*)>", name + r":\1", text)
    return text


BATCH = 400
"""IRIs per VALUES block when asking for many nodes' statements or names (keeps each query small)."""
NAMES_KEPT = 20_000
"""Nodes whose names (``LINK_TEXTS``) a catalogue keeps: past that, it forgets them all and starts again."""

_NODES = "{NODES}"
"""Where ``_branch_template`` puts the IRIs a query starts from."""


@cache
def _branch_template(step: int) -> str:
    """``StoreCatalogue._level_branch`` with the start IRIs left out (written once per step, not per request)."""
    if step == 0:
        down = f"VALUES ?s {{ {_NODES} }}"
    else:
        hops = [f"?n{i} ?e{i} {'?s' if i == step - 1 else f'?n{i + 1}'} . FILTER(?e{i} IN ({_OWNING}))"
                for i in range(step)]
        down = f"VALUES ?n0 {{ {_NODES} }} " + " ".join(hops)
    return _compact(f"{{ {down} ?s ?p ?o }}")


@cache
def _mapping_template() -> str:
    """The summaries of the mapping records about the nodes in ``VALUES`` (their targets' names: ``_linked_names``)."""
    return _compact(f"{{ VALUES ?n {{ {_NODES} }} ?s <{OWL}annotatedSource> ?n ; ?p ?o . "
                    f"FILTER(?p IN ({_in(MAPPING_SUMMARY)})) }}")


def _mapping_branches(nodes: list[str]) -> list[str]:
    """``_mapping_template`` for ``nodes`` (none for no nodes: a node without mappings costs no branch)."""
    return [_mapping_template().replace(_NODES, _values(nodes))] if nodes else []


class Links:
    """What a resource's answers say about links, gathered in one pass over each answer as it arrives:
    which subjects were read, what each owns, which IRIs are linked to, which mapping targets, each
    subject's types. Every later question (how deep to read, what kind the node is, which nodes are held
    whole, whose names to read) is answered from here, not by walking the triples again."""

    def __init__(self) -> None:
        self.subjects: set[str] = set()
        self.owns: dict[str, list[str]] = {}
        self.linked: set[str] = set()
        self.targets: set[str] = set()
        self.types: dict[str, list[str]] = {}

    def add(self, triples: list[Fact]) -> None:
        for t in triples:
            subject, target = t.subject.value, t.object
            self.subjects.add(subject)
            if isinstance(target, NamedNode):
                predicate, value = t.predicate.value, target.value
                self.linked.add(value)
                if predicate in EMBEDDED:
                    self.owns.setdefault(subject, []).append(value)
                elif predicate == _TYPE:
                    self.types.setdefault(subject, []).append(value)
                elif predicate == _TARGET:
                    self.targets.add(value)

    def kind(self, node: str) -> str | None:
        return kind_of(sorted(self.types.get(node, ())), node in self.subjects)

    def whole(self, node: str) -> set[str]:
        """``node`` and the nodes it owns whose every triple was read (those the ownership branches read):
        the subjects reached from ``node`` through the owning predicates. Mapping records and a cluster's
        members are subjects too, but only partly read, and nothing owns them."""
        whole, pending = set(), [node]
        while pending:
            current = pending.pop()
            if current in self.subjects and current not in whole:
                whole.add(current)
                pending += self.owns.get(current, ())
        return whole

    def owned_beyond(self, start: list[str], steps: int, seen: set[str]) -> list[str]:
        """The nodes owned ``steps + 1`` ownership steps below ``start``, not yet read: where the next query
        starts (none, unless the model grows deeper than the URI scheme suggested)."""
        level = list(start)
        for _ in range(steps + 1):
            level = sorted({child for parent in level for child in self.owns.get(parent, ())} - seen)
            seen.update(level)
        return level


def _holds(sorted_iris: list[str], node: str) -> bool:
    at = bisect_left(sorted_iris, node)
    return at < len(sorted_iris) and sorted_iris[at] == node


def _below(sorted_iris: list[str], node: str) -> list[str]:
    """The IRIs of ``sorted_iris`` that are ``node`` or start with ``node/`` (where the URI scheme puts what it owns)."""
    # every IRI starting with "node/" sorts from "node/" up to "node0" ("0" is the character after "/")
    return ([node] if _holds(sorted_iris, node) else []) + \
        sorted_iris[bisect_left(sorted_iris, node + "/"):bisect_left(sorted_iris, node + "0")]


def _whole(term) -> int:
    return int(term.value) if term is not None and term.value.lstrip("-").isdigit() else 0


class StoreCatalogue:
    """The engine-backed counterpart of :class:`~service.describe.Descriptions` for the resources blueprint."""

    def __init__(self, engine: Engine, base: str, page_size: int = 100):
        self.engine = engine
        self.base = base
        self.page_size = page_size
        self.iris = Iris(base)
        self._dataset: Description | None = None
        self._triples: int | None = None
        self._kept_iris: dict[tuple[str, str], list[str]] = {}
        """(what, of what) -> the sorted IRIs read for it (``_iris_kept``)."""
        self._names: dict[str, list[Fact]] = {}
        """Node IRI -> its names (``names_of``), at most ``NAMES_KEPT``."""
        self._lock = threading.Lock()
        self.context = self._context()

    # ---- start-up ----

    def _context(self) -> list[Fact]:
        """What every page shows besides its own resource: the site's title and the scheme's scope note."""
        return self.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ VALUES (?s ?p) {{ ({iri(self.base)} <{DCT}title>) ({iri(self.iris.scheme)} <{SKOS}scopeNote>) }} ?s ?p ?o }}
            }}""")

    def view(self, triples: list[Fact], **lists) -> View:
        return View(self.base, self.page_size, [*triples, *self.context], **lists)

    # ---- what the resources blueprint asks ----

    def knows(self, iri: str) -> bool:
        """Whether ``iri`` may be a resource: any IRI below the base; the engine says which are (else 404)."""
        return iri.startswith(self.base)

    def resource(self, node: str) -> Description | None:
        """The node and what it owns, its mappings' summaries, a cluster's members, and the types and names
        of every node those link to; ``View.described`` then keeps the embedded selection.

        What it owns is read step by step (``_read_owned``), the summaries of its mapping records in the
        first query; a cluster's members and the names of what all of it links to (``_linked_names``)
        come after, by IRI."""
        try:
            iri(node)
        except ValueError:
            return None
        mapped = self.mapped()
        guessed = self._mapped_below(node, mapped)
        links = Links()
        found, seen = self._read_owned(node, _mapping_branches(guessed), links)
        kind = links.kind(node)
        if kind is None:
            return None
        if kind == "dataset":
            return self.dataset()
        more: list[Fact] = []
        if kind == "cluster":  # who belongs is said by the members
            more += self.engine.construct("CONSTRUCT { ?s ?p ?o } WHERE { " + " UNION ".join(self._cluster_branches(node)) + " }")
        missed = sorted(n for n in seen - set(guessed) if _holds(mapped, n))
        if missed:  # owned, mapped, and not where the URI scheme said (an offer): read now, so the guess never changes the answer
            more += self.engine.construct(PREFIXES + "CONSTRUCT { ?s ?p ?o } WHERE { " + " UNION ".join(_mapping_branches(missed)) + " }")
        links.add(more)
        found += more
        found += self._linked_names(links, links.whole(node))
        view = View(self.base, self.page_size, found)
        return Description(node, kind, view.described(node, kind), fetched=found)

    def read_owned(self, node: str) -> list[Fact]:
        """The triples of ``node`` and of everything it owns, as ``SubjectIndex.owned`` finds them in embedded
        mode (a competency's CASE objects are made from them, ``service.store_case``)."""
        return self._read_owned(node, [], Links())[0]

    def _read_owned(self, node: str, first: list[str], links: Links) -> tuple[list[Fact], set[str]]:
        """``read_owned``, with ``first`` branches added to the first query, and the owned nodes met on the way;
        every answer is also added to ``links``.

        What a node owns is only known once its triples are read, but the URI scheme says how deep it
        probably goes (a competency owns levels that own criteria; a competency level owns criteria), so
        the first query reads that many ownership steps at once, each step a join from the node through
        the owning predicates (``_level_branch``); anything owned deeper than expected is read by a
        further query from the nodes found last, so the guess only saves round trips, never changes the
        answer. A competency in one query instead of three: engine time 5.7 -> 4.4 ms and two round trips
        less on the front end (synthetic-2000, Oxigraph server); one step per query was itself the cut of
        an 18-branch property-path union (``owned``) that cost 7 ms even for nodes owning nothing."""
        found: list[Fact] = []
        start, steps, seen, depth = [node], self._expected_depth(node), {node}, 0
        while start and depth <= OWNED_DEPTH:
            steps = min(steps, OWNED_DEPTH - depth)
            branches = [self._level_branch(start, step) for step in range(steps + 1)] + (first if depth == 0 else [])
            answer = self.engine.construct(PREFIXES + "CONSTRUCT { ?s ?p ?o } WHERE { " + " UNION ".join(branches) + " }")
            links.add(answer)
            found += answer
            start = links.owned_beyond(start, steps, seen)
            depth, steps = depth + steps + 1, 0
        return found, seen

    def _linked_names(self, links: Links, whole: set[str]) -> list[Fact]:
        """The types, names and statements (``LINK_TEXTS``) of every node the answers link to but do not
        hold whole, asked by IRI after the triples that link to them are read (``names_of``).

        Asked in the same query as those triples, as union branches joining again from the node through
        each ownership step to every link, the names were more than half of Oxigraph's time for a
        competency (1.7 of 3.0 ms for 41 triples, synthetic-2000, in-process); asked by IRI they cost
        0.4 ms, and nothing once kept: most links go to the same few nodes (the scheme, the generic
        levels, the clusters, the classes). The rest are the external concepts a resource is mapped to,
        a few per resource and most of them unnamed in the graph: ``named_targets`` says which are
        named, so the others are never asked (they cost every competency a round trip)."""
        named = self.named_targets() if links.targets else []
        unnamed = {target for target in links.targets if not _holds(named, target)}
        linked = sorted(links.linked - whole - unnamed)
        return [t for names in self.names_of(linked).values() for t in names]

    def names_of(self, nodes: list[str]) -> dict[str, list[Fact]]:
        """Each node's names (``LINK_TEXTS``; none for a node without), kept for the life of the site as
        ``mapped`` is (the graph a site reads never changes; a publish that switches it makes a new site):
        the nodes not yet kept are asked in one query per ``BATCH``."""
        with self._lock:
            known = {node: self._names[node] for node in nodes if node in self._names}
        asked = sorted({node for node in nodes if node not in known and writable(node)})
        known.update((node, []) for node in nodes if not writable(node))  # cannot be asked by IRI: named by nothing here
        for start in range(0, len(asked), BATCH):
            chunk = asked[start:start + BATCH]
            read: dict[str, list[Fact]] = {node: [] for node in chunk}
            for t in self.engine.construct(f"""
                    CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values(chunk)} }} ?s ?p ?o .
                      FILTER(?p IN ({_in(LINK_TEXTS)})) }}"""):
                read.setdefault(t.subject.value, []).append(t)
            known.update(read)
            with self._lock:
                if len(self._names) + len(read) > NAMES_KEPT:
                    self._names.clear()
                if len(read) <= NAMES_KEPT:
                    self._names.update(read)
        return known

    def mapped(self) -> list[str]:
        """The nodes some mapping record is about (``owl:annotatedSource``), sorted: read from the engine at
        the first description and kept for the life of the site, as ``at_level`` is (a publish that
        switches the graph makes a new site).

        A description reads the mapping records of the nodes it owns. Found by joins from the node, that
        took two union branches per ownership step whether or not anything was mapped: 6 of a competency's
        12 branches and a fifth of Oxigraph's time for it (3.3 -> 2.6 ms, synthetic-2000). With this list,
        the first query reads the records of the mapped nodes the URI scheme puts below the node, by
        ``VALUES``, and none when there are none. The list holds one IRI per mapped node: 4,000 at 2,000
        competencies with mappings, read in 43 ms; 40,000 at 20,000, read in 0.5-1.5 s once per worker,
        4.7 MiB kept (70 MiB at the peak of reading them)."""
        return self._iris_kept(("mapped", ""), lambda: f"""
            SELECT DISTINCT ?n WHERE {{ ?r <{OWL}annotatedSource> ?n . FILTER(isIRI(?n)) }}""", "n")

    def named_targets(self) -> list[str]:
        """The targets of mapping records (``owl:annotatedTarget``) that the graph names (``LINK_TEXTS``),
        sorted: read once and kept for the life of the site, as ``mapped`` is. A catalogue may carry the
        labels of the concepts it maps to, or not (the synthetic ones do not: none of their 4,000 targets)."""
        return self._iris_kept(("named targets", ""), lambda: f"""
            SELECT DISTINCT ?t WHERE {{ ?r <{_TARGET}> ?t . FILTER(isIRI(?t))
              ?t ?p ?o . FILTER(?p IN ({_in(LINK_TEXTS)})) }}""", "t")

    def _iris_kept(self, key: tuple[str, str], query: Callable[[], str], name: str) -> list[str]:
        """The IRIs ``query()`` binds to ``name``, sorted, read at the first call for ``key`` and kept for the
        life of the site (``mapped``, ``named_targets``, ``at_level``); the query is written only then
        (``mapped`` is asked by every description). Two threads may both read a list the first time;
        either answer is the same."""
        with self._lock:
            found = self._kept_iris.get(key)
        if found is None:
            found = sorted(set(self.engine.iris(query(), name)))
            with self._lock:
                self._kept_iris[key] = found
        return found

    def _mapped_below(self, node: str, mapped: list[str]) -> list[str]:
        """The mapped nodes the URI scheme says ``node`` owns: those below it when it is a competency or
        below one (never more than one competency's), else ``node`` itself if it is mapped. Without that
        bound, ``{base}competency.ttl`` would send every mapped competency's IRI to the engine."""
        if self.iris.competency_slug(node) is None:
            return [node] if _holds(mapped, node) else []
        return _below(mapped, node)

    def _expected_depth(self, node: str) -> int:
        """How many ownership steps below ``node`` the URI scheme suggests: 2 for a competency (levels,
        their criteria), 1 for a competency level, else 0. A hint only (see ``resource``)."""
        slug = self.iris.competency_slug(node)
        if slug is None:
            return 0
        below = node[len(self.iris.competency(slug)):]
        if not below:
            return 2
        return 1 if below.count("/") == 2 and below.startswith("/level/") else 0

    @staticmethod
    def _level_branch(nodes: list[str], step: int = 0) -> str:
        """The triples of what ``nodes`` own ``step`` ownership steps down (0: the nodes themselves); the names
        of what those link to are read after, by IRI (``_linked_names``).

        Each step is a join through the owning predicates from IRIs given in ``VALUES``, which an engine
        answers by index lookups, and each branch is self-contained: Oxigraph evaluates a union group
        joined with a later pattern by scanning that pattern (380 ms instead of 5 ms at 33,000 triples)."""
        return _branch_template(step).replace(_NODES, _values(nodes))

    @staticmethod
    def _cluster_branches(node: str) -> list[str]:
        """A cluster's current members (what says they belong) and the names of what those triples link to."""
        subject = iri(node)
        return [
            f"{{ ?s a <{CKG}Competency> ; <{SKOS}broader> {subject} ; ?p ?o . "
            f"FILTER NOT EXISTS {{ ?s <{OWL}deprecated> true }} FILTER(?p IN ({_in(CLUSTER_MEMBER)})) }}",
            f"{{ ?m a <{CKG}Competency> ; <{SKOS}broader> {subject} ; ?q ?s . "
            f"FILTER(isIRI(?s) && ?q IN ({_in(CLUSTER_MEMBER)})) ?s ?p ?o . FILTER(?p IN ({_in(LINK_TEXTS)})) }}",
        ]

    def listing(self, segment: str, number: int, *, include_deprecated: bool = False) -> Description | None:
        """A SELECT for the page's members (in the embedded order) and their count, a CONSTRUCT for what
        the page shows of them."""
        cls = iri(LISTINGS[segment])
        current = "" if include_deprecated else f"FILTER NOT EXISTS {{ ?m <{OWL}deprecated> true }}"
        if number < 1:
            return None
        rows = self.engine.select(f"""
            SELECT ?m ?key ?total WHERE {{
              {{ SELECT (COUNT(DISTINCT ?m) AS ?total) WHERE {{ ?m a {cls} . {current} }} }}
              OPTIONAL {{ SELECT ?m ?key WHERE {{
                  ?m a {cls} . {current}
                  OPTIONAL {{ ?m <{CKG}rank> ?rank }} OPTIONAL {{ ?m <{CKG}position> ?position }}
                  BIND(COALESCE(xsd:integer(?rank), xsd:integer(?position), 0) AS ?key)
                }} ORDER BY ?key STR(?m) LIMIT {self.page_size} OFFSET {(number - 1) * self.page_size} }}
            }}""".replace("xsd:integer", "<http://www.w3.org/2001/XMLSchema#integer>"))
        total = _whole(rows[0].get("total")) if rows else 0
        members = sorted((row for row in rows if "m" in row), key=lambda row: (_whole(row.get("key")), row["m"].value))
        collection = f"{self.base}{segment}/"
        page = page_of(collection, [row["m"].value for row in members], total, number, self.page_size,
                       query="deprecated=include&" if include_deprecated else "", whole=False)
        if page is None:
            return None
        triples = self._members(page.members, LISTED) if page.members else []
        return View(self.base, self.page_size, triples).collection(collection, page)

    def _members(self, members: list[str], shown) -> list[Fact]:
        """What of ``members`` a page shows (predicates ``shown``) and the names of what they link to."""
        return self.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ VALUES ?s {{ {_values(members)} }} ?s ?p ?o . FILTER(?p IN ({_in(shown)})) }}
              UNION {{ VALUES ?m {{ {_values(members)} }} ?m ?q ?s . FILTER(isIRI(?s) && ?q IN ({_in(shown)}))
                       ?s ?p ?o . FILTER(?p IN ({_in(NAMES)})) }}
            }}""")

    def triple_count(self) -> int:
        """The triples of the graph read (for the SPARQL service description), counted by the engine once."""
        with self._lock:
            if self._triples is None:
                self._triples = _whole(self.engine.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"])
            return self._triples

    def dataset(self) -> Description:
        """The dataset's own triples and its VoID statistics (aggregates the engine computes), made once."""
        with self._lock:
            if self._dataset is None:
                self._dataset = self._dataset_description()
            return self._dataset

    def _dataset_description(self) -> Description:
        counts = self.engine.select("""
            SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) WHERE { ?s ?p ?o }""")[0]
        entities = self.engine.select("""
            SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o . FILTER(!isBlank(?s)) }""")[0]
        classes = {row["class"].value: _whole(row["n"]) for row in self.engine.select(f"""
            SELECT ?class (COUNT(?s) AS ?n) WHERE {{ ?s <{_TYPE}> ?class }} GROUP BY ?class""")}
        extra = void_triples(self.base, _whole(counts["triples"]), _whole(entities["n"]), _whole(counts["subjects"]),
                             classes, self.iris.download)
        own = self.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {owned(iri(self.base), "?s", "?s ?p ?o")}
              UNION {owned(iri(self.base), "?n", f"?n ?q ?s . FILTER(isIRI(?s)) ?s ?p ?o . FILTER(?p IN ({_in(NAMES)}))")}
            }}""")
        linked = sorted({t.object.value for t in extra if isinstance(t.object, NamedNode)})
        names = self.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {_values(linked)} }} ?s ?p ?o . FILTER(?p IN ({_in(NAMES)})) }}""")
        view = View(self.base, self.page_size, [*own, *names])
        return Description(self.base, "dataset", view.with_link_labels(view.owned(self.base) + extra))

    def near(self, path: str, limit: int = 3) -> list[str]:
        """Existing paths like ``path`` (for a 404): its siblings' names, from the engine, then the embedded rule."""
        parent = path.rpartition("/")[0]
        prefix = self.base + (parent + "/" if parent else "")
        if not path.rpartition("/")[2]:
            return []
        rows = self.engine.select(f"""
            SELECT DISTINCT ?s WHERE {{ ?s ?p ?o . FILTER(isIRI(?s) && STRSTARTS(STR(?s), {_string(prefix)})) }}""")
        names = sorted({row["s"].value[len(prefix):] for row in rows} - {""})
        return near_among([n for n in names if "/" not in n], path, limit)

    # ---- what pages show beyond the description ----

    def page_view(self, description: Description, number: int) -> View:
        """The description's triples plus what its page reads besides (per kind), as one View."""
        node, kind = description.iri, description.kind
        triples = list(description.read())  # added to below, never the description's own list
        if kind == "competency-level":
            triples += self.engine.construct(f"""
                CONSTRUCT {{ ?g <{SKOS}definition> ?d }} WHERE {{ {iri(node)} <{CKG}level> ?g . ?g <{SKOS}definition> ?d }}""")
        elif kind == "criterion":
            triples += self.engine.construct(f"""
                CONSTRUCT {{ ?owner ?e ?owned . ?owner ?p ?o }} WHERE {{
                  {{ VALUES ?owned {{ {iri(node)} }} ?owner ?e ?owned . FILTER(?e IN ({_in(EMBEDDED)}))
                     ?owner ?p ?o . FILTER(?p IN ({_in(LINK_TEXTS)})) }}
                  UNION {{ {iri(node)} ^{OWNER} ?owned . ?owner ?e ?owned . FILTER(?e IN ({_in(EMBEDDED)}))
                           ?owner ?p ?o . FILTER(?p IN ({_in(LINK_TEXTS)})) }}
                }}""")
        elif kind == "cluster":
            members = View(self.base, self.page_size, triples).competencies_by_cluster.get(node, [])
            page = page_of(node, members, len(members), number, self.page_size) or page_of(node, members, len(members), 1, self.page_size)
            if page.members:
                triples += self.engine.construct(f"""
                    CONSTRUCT {{ ?m <{SKOS}definition> ?d }} WHERE {{ VALUES ?m {{ {_values(page.members)} }} ?m <{SKOS}definition> ?d }}""")
        elif kind == "level":
            return self._level_view(node, triples, number)
        elif kind == "dataset":
            return self._dataset_view(triples)
        return self.view(triples)

    def at_level(self, level: str) -> list[str]:
        """The competency levels at generic level ``level``, in the embedded (IRI) order: read from the
        engine on the first page of that level and kept for the life of the site, as the dataset's
        statistics are (a publish that switches the graph makes a new site). Embedded mode keeps the same
        index (``by_level``); asking the engine for it on every level page cost 9-15 ms of engine time
        and 3 ms of ours at 2,000 competencies, a quarter of all engine time over the bench's mix. Keys
        are levels found in the graph (``page_view`` asks only for those), so the index stays as small
        as the catalogue's list of competency levels."""
        # ckg:level's rdfs:domain is ckg:CompetencyLevel, so no type pattern: joining every competency
        # level's rdf:type doubled Oxigraph's time for this list (2,000 rows: 36 -> 15 ms)
        return self._iris_kept(("at level", level), lambda: f"""
            SELECT ?cl WHERE {{ ?cl <{CKG}level> {iri(level)} . FILTER(isIRI(?cl)) }}""", "cl")

    def _level_view(self, node: str, triples: list[Fact], number: int) -> View:
        at_level = self.at_level(node)
        page = (page_of(node, at_level, len(at_level), number, self.page_size)
                or page_of(node, at_level, len(at_level), 1, self.page_size))
        members = _values(page.members)
        # only what a row shows: its competency's name (not its types: 200 of a page's 1,725 triples), its
        # criteria's statements in position order
        rows = f"""UNION {{ VALUES ?s {{ {members} }} ?s ?p ?o . FILTER(?p IN (<{SKOS}broader>, <{CKG}hasCriterion>)) }}
                   UNION {{ VALUES ?cl {{ {members} }} ?cl <{CKG}hasCriterion> ?s . ?s ?p ?o .
                            FILTER(?p IN (<{CKG}statement>, <{CKG}position>, <{CKG}rank>)) }}
                   UNION {{ VALUES ?cl {{ {members} }} ?cl <{SKOS}broader> ?s . ?s ?p ?o . FILTER(?p IN ({_in(LABELS)})) }}
                """ if page.members else ""
        triples += self.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ ?s a <{CKG}ProficiencyLevel> ; ?p ?o . FILTER(?p IN ({_in((*NAMES, CKG + "rank", CKG + "position"))})) }}
              {rows}
            }}""")
        return self.view(triples, by_level={node: at_level})

    def _dataset_view(self, triples: list[Fact]) -> View:
        pairs = self.engine.select(f"""
            SELECT ?cluster ?m WHERE {{ ?cluster a <{CKG}Cluster> .
              OPTIONAL {{ ?m a <{CKG}Competency> ; <{SKOS}broader> ?cluster . FILTER NOT EXISTS {{ ?m <{OWL}deprecated> true }} }} }}""")
        by_cluster: dict[str, list[str]] = {}
        for row in pairs:
            members = by_cluster.setdefault(row["cluster"].value, [])
            if "m" in row:
                members.append(row["m"].value)
        for members in by_cluster.values():
            members.sort()
        shown = sorted({*by_cluster, *(m for members in by_cluster.values() for m in members[:20])})
        triples += self.engine.construct(f"""
            CONSTRUCT {{ ?s ?p ?o }} WHERE {{
              {{ ?s a <{CKG}ProficiencyLevel> ; ?p ?o . FILTER(?p IN ({_in((*NAMES, CKG + "rank", CKG + "position"))})) }}
              UNION {{ VALUES ?s {{ {_values(shown)} }} ?s ?p ?o .
                       FILTER(?p IN ({_in((*NAMES, CKG + "rank", CKG + "position"))})) }}
            }}""") if shown else []
        competencies = [row["c"].value for row in self.engine.select(f"SELECT DISTINCT ?c WHERE {{ ?c a <{CKG}Competency> }}")]
        view = self.view(triples, clusters=by_cluster)
        view.members_of_class[CKG + "Competency"] = competencies  # the home page counts them all, deprecated too
        return view


def page_of(iri_: str, members: list[str], total: int, number: int, page_size: int, query: str = "",
            *, whole: bool = True) -> Page | None:
    """Page ``number`` of a list of ``total`` items: ``members`` is the whole list, or (``whole=False``)
    already just this page's, as a listing's SELECT returns them. Embedded ``paginate``'s rule."""
    count = max(1, ceil(total / page_size))
    if not 1 <= number <= count:
        return None
    if whole:
        start = (number - 1) * page_size
        members = members[start:start + page_size]
    return Page(number=number, count=count, total=total, members=members,
                first=_page_iri(iri_, 1, query), last=_page_iri(iri_, count, query),
                previous=_page_iri(iri_, number - 1, query) if number > 1 else None,
                next=_page_iri(iri_, number + 1, query) if number < count else None,
                view=_page_iri(iri_, number, query))


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def follow_publication(engine: Engine, name: str | None) -> str | None:
    """The publication name ``engine`` reads through (``exports.publication``'s pointer), and point it there.

    ``ckg publish`` loads every catalogue into a fresh graph and makes it current by a pointer, so the
    graph to read is found there: under ``name`` (``--store-graph``, else ``--base``), else under the
    one name the pointer knows. None when the pointer has nothing for it (a graph loaded by other
    tools): ``engine.graph`` is then read as it is.
    """
    if name is not None:
        found = current_graph_in(engine, name)
        if found is not None:
            engine.graph = found
            return name
        return None
    names = sorted({row["current"].value for row in engine.select(publication.names_query())})
    if len(names) > 1:  # as publish names them by default: the name that is its catalogue's dataset IRI
        named_by_default = sorted({row["current"].value for row in engine.select(
            publication.names_query(also=f"GRAPH ?graph {{ ?current a <{DCAT}Dataset> }}"))})
        if len(named_by_default) != 1:
            raise EngineError(2, f"{shown(engine.url)} holds several published catalogues ({', '.join(names)}); "
                                 f"name one with --store-graph")
        names = named_by_default
    if names:
        engine.graph = current_graph_in(engine, names[0])
        return names[0]
    return None


def current_graph_in(engine: Engine, name: str) -> str | None:
    """Which graph the pointer makes current for ``name`` now (asked without a dataset: it names its graph)."""
    rows = engine.select(publication.current_query(name), dataset=False)
    return rows[0]["graph"].value if rows else None


def discover(engine: Engine, base: str | None) -> tuple[str | None, str]:
    """The graph holding the catalogue and its base IRI, when not given: the dataset that names itself as
    its ``void:uriSpace`` (what ``ckg publish`` loads) in the one named graph that has one."""
    pattern = f"?d a <{DCAT}Dataset> ; <{VOID}uriSpace> ?space . FILTER(STR(?d) = ?space)"
    if base:
        pattern += f" FILTER(?d = {iri(base)})"
    if engine.graph is None:
        rows = engine.select(f"SELECT DISTINCT ?g ?d WHERE {{ GRAPH ?g {{ {pattern} }} }}")
        graphs = sorted({row["g"].value for row in rows})
        if len(graphs) > 1:
            exact = [g for g in graphs if any(row["g"].value == g == row["d"].value for row in rows)]
            if len(exact) != 1:
                raise EngineError(2, f"several graphs in {shown(engine.url)} hold a catalogue ({', '.join(graphs)}); "
                                     f"name one with --store-graph")
            graphs = exact
        if graphs:
            engine.graph = graphs[0]
    found = sorted({row["d"].value for row in engine.select(f"SELECT DISTINCT ?d WHERE {{ {pattern} }}")})
    if not found:
        where = f"graph <{engine.graph}>" if engine.graph else "any graph"
        raise EngineError(2, f"no catalogue in {where} of {shown(engine.url)}: no dcat:Dataset that is its own void:uriSpace"
                             f"{' with IRI ' + base if base else ''}. Load one with `ckg publish`, or name the graph "
                             f"with --store-graph")
    if len(found) > 1:
        raise EngineError(2, f"several catalogues in the graph ({', '.join(found)}); name the base with --base")
    return engine.graph, found[0]
