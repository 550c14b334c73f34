"""Propose candidate ESCO mappings for competencies, levels and criteria, by lexical similarity.

A plain-Python BM25 index (TF-IDF cosine as the baseline) over ESCO's English skill texts (preferred label weighted highest, then
alternative labels and the description) is searched with the English text of each catalogue item
(Dutch sources are searched through their English translation, which the catalogue carries).
Scores are brought into [0, 1], optionally nudged by a prior on ESCO's reuse level
(transversal and cross-sector skills fit a generic competency framework better than
occupation-specific ones). ``bench/suggest.py`` measures the settings against the curated set.

Everything is computed locally from the imported ESCO data: no model and no download.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from pyoxigraph import Store

from ontology.namespaces import CKG, DCT, SEMAPV, SKOS, compact

from .esco import ESCO_GRAPH, ESCO_MODEL
from .frameworks import ESCO, ESCO_ATTRIBUTION
from .sssom import write_table

STOPWORDS = frozenset("""a about above after again all also an and any are as at be been being both but by can
do does doing each even for from further had has have having he her his how i if in into is it its itself
may might more most must no not of on once only or other own same she should so some such than that the
their them then there these they this those through to too under until up very was we were what when which
while who whom why will with within without would you your his him also e g etc one ones""".split())

FIELD_WEIGHTS = {"pref": 3.0, "alt": 1.0, "description": 1.0}
REUSE_PRIOR = {"transversal": 1.15, "cross-sector": 1.1, "sector-specific": 1.0, "occupation-specific": 0.9}
KNOWLEDGE_PRIOR = 0.85
"""Our items are behaviours; ESCO 'knowledge' concepts rarely fit them."""


def stem(word: str) -> str:
    """A deliberately small suffix stripper: enough to meet 'handles/handling', 'customers/customer'."""
    for suffix, replacement in (("ations", ""), ("ation", ""), ("ings", ""), ("ing", ""), ("ies", "y"),
                                ("ied", "y"), ("ness", ""), ("ment", ""), ("ly", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word.endswith("ss")):
            word = word[: len(word) - len(suffix)] + replacement
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def tokens(text: str) -> list[str]:
    return [stem(w) for w in re.findall(r"[a-z]+", text.lower()) if w not in STOPWORDS and len(w) > 1]


@dataclass
class Concept:
    """One ESCO skill as the index sees it."""

    iri: str
    label: str
    alt: list[str] = field(default_factory=list)
    description: str = ""
    reuse: str = ""
    knowledge: bool = False


def esco_skills(store: Store, graph: str = ESCO_GRAPH, language: str = "en") -> list[Concept]:
    """Every ESCO skill (concepts with a skill type, so not the skill groups) with its texts."""
    query = f"""
    PREFIX skos: <{SKOS}> PREFIX esco: <{ESCO_MODEL}> PREFIX dct: <{DCT}>
    SELECT ?skill ?type ?reuse ?field ?text WHERE {{ GRAPH <{graph}> {{
      ?skill esco:skillType ?type .
      OPTIONAL {{ ?skill esco:skillReuseLevel ?reuse }}
      {{ ?skill skos:prefLabel ?text BIND("pref" AS ?field) }}
      UNION {{ ?skill skos:altLabel ?text BIND("alt" AS ?field) }}
      UNION {{ ?skill dct:description ?text BIND("description" AS ?field) }}
      FILTER(lang(?text) = "{language}")
    }} }}"""
    concepts: dict[str, Concept] = {}
    for row in store.query(query):
        iri = row["skill"].value
        concept = concepts.get(iri)
        if concept is None:
            reuse = row["reuse"].value.rsplit("/", 1)[-1] if row["reuse"] is not None else ""
            concept = concepts[iri] = Concept(iri, "", reuse=reuse, knowledge=row["type"].value.endswith("/knowledge"))
        text, kind = row["text"].value, row["field"].value
        if kind == "pref":
            concept.label = text
        elif kind == "alt":
            concept.alt.append(text)
        else:
            concept.description = text
    return sorted(concepts.values(), key=lambda c: c.iri)


class Index:
    """Skill texts in an inverted index, scored by BM25 (default) or TF-IDF cosine.

    BM25 ranks better on the curated set (see bench/RESULTS.md); TF-IDF stays as the baseline.
    Both scores are brought into [0, 1] so they can be written as SSSOM confidences: cosine is
    already there, and BM25 is divided by the most the query could score (each of its words at
    the saturation limit ``idf · (k1 + 1)``).
    """

    K1 = 1.2
    B = 0.75

    def __init__(self, concepts: Iterable[Concept], *, use_alt: bool = True, use_description: bool = True,
                 prior: bool = True, scoring: str = "bm25"):
        if scoring not in ("bm25", "tfidf"):
            raise ValueError(f"unknown scoring {scoring!r}: bm25 or tfidf")
        self.concepts = list(concepts)
        self.prior = prior
        self.scoring = scoring
        counts: list[Counter] = []
        for concept in self.concepts:
            weighted: Counter = Counter()
            for token in tokens(concept.label):
                weighted[token] += FIELD_WEIGHTS["pref"]
            if use_alt:
                for token in set(t for alt in concept.alt for t in tokens(alt)):
                    weighted[token] += FIELD_WEIGHTS["alt"]
            if use_description:
                for token in tokens(concept.description):
                    weighted[token] += FIELD_WEIGHTS["description"]
            counts.append(weighted)
        documents = len(counts) or 1
        frequency = Counter(token for weighted in counts for token in weighted)
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        if scoring == "tfidf":
            self.idf = {token: math.log((documents + 1) / (df + 1)) + 1.0 for token, df in frequency.items()}
            for number, weighted in enumerate(counts):
                vector = {t: (1.0 + math.log(w)) * self.idf[t] for t, w in weighted.items()}
                norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
                for token, value in vector.items():
                    self.postings[token].append((number, value / norm))
        else:
            self.idf = {token: math.log(1 + (documents - df + 0.5) / (df + 0.5)) for token, df in frequency.items()}
            average = sum(sum(w.values()) for w in counts) / documents or 1.0
            for number, weighted in enumerate(counts):
                length = sum(weighted.values())
                for token, tf in weighted.items():
                    saturation = tf * (self.K1 + 1) / (tf + self.K1 * (1 - self.B + self.B * length / average))
                    self.postings[token].append((number, saturation))

    def _prior(self, concept: Concept) -> float:
        if not self.prior:
            return 1.0
        return REUSE_PRIOR.get(concept.reuse, 1.0) * (KNOWLEDGE_PRIOR if concept.knowledge else 1.0)

    def _scores(self, text: str) -> tuple[dict[int, float], set[str]]:
        query = Counter(t for t in tokens(text) if t in self.idf)
        scores: dict[int, float] = defaultdict(float)
        if self.scoring == "tfidf":
            vector = {t: (1.0 + math.log(n)) * self.idf[t] for t, n in query.items()}
            norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
            for token, weight in vector.items():
                for number, value in self.postings[token]:
                    scores[number] += weight / norm * value
        else:
            bound = sum(self.idf[t] * (self.K1 + 1) for t in query) or 1.0
            for token in query:
                for number, saturation in self.postings[token]:
                    scores[number] += self.idf[token] * saturation / bound
        return scores, set(query)

    def search(self, text: str, top: int) -> list[tuple[Concept, float, list[str]]]:
        """The ``top`` best skills for ``text``: (skill, score in [0, 1], the shared words)."""
        scores, words = self._scores(text)
        ranked = sorted(((min(1.0, s * self._prior(self.concepts[n])), n) for n, s in scores.items()),
                        key=lambda item: (-item[0], self.concepts[item[1]].iri))[:top]
        results = []
        for score, number in ranked:
            concept = self.concepts[number]
            shared = sorted(words & set(tokens(" ".join([concept.label, *concept.alt, concept.description]))))
            results.append((concept, score, shared))
        return results


@dataclass(frozen=True)
class Item:
    """A catalogue item to find mappings for, with the English text it is searched by."""

    iri: str
    kind: str
    label: str
    extra: str = ""
    """A competency's definition, or a level's criteria."""


def catalogue_items(store: Store, language: str = "en") -> list[Item]:
    """Competencies, competency levels and criteria of a catalogue graph (in the default graph)."""
    query = f"""
    PREFIX skos: <{SKOS}> PREFIX ckg: <{CKG}>
    SELECT ?item ?kind ?label ?extra WHERE {{
      {{ ?item a ckg:Competency ; skos:prefLabel ?label . BIND("competency" AS ?kind)
         OPTIONAL {{ ?item skos:definition ?definition FILTER(lang(?definition) = "{language}") }}
         BIND(COALESCE(?definition, "") AS ?extra) }}
      UNION
      {{ ?item a ckg:CompetencyLevel ; skos:prefLabel ?label . BIND("level" AS ?kind)
         {{ SELECT ?item (GROUP_CONCAT(?statement; separator=" ") AS ?extra) WHERE {{
              ?item ckg:hasCriterion/ckg:statement ?statement FILTER(lang(?statement) = "{language}") }} GROUP BY ?item }} }}
      UNION
      {{ ?item a ckg:BehaviouralCriterion ; ckg:statement ?label . BIND("criterion" AS ?kind) BIND("" AS ?extra) }}
      FILTER(lang(?label) = "{language}")
    }}"""
    items = [Item(r["item"].value, r["kind"].value, r["label"].value, r["extra"].value) for r in store.query(query)]
    return sorted(items, key=lambda i: i.iri)


def search_text(item: Item) -> str:
    """What an item is searched by: a level by its competency's name and its criteria, since the
    generic level name in its label ('Professional/Steering') says nothing about the skill."""
    if item.kind == "level":
        return f"{item.label.split(',')[0]} {item.extra}"
    return f"{item.label} {item.extra}".strip()


@dataclass(frozen=True)
class Suggestion:
    item: Item
    concept: Concept
    score: float
    rank: int
    shared: tuple[str, ...]


def suggest(items: Iterable[Item], index: Index, top: int = 5) -> list[Suggestion]:
    out = []
    for item in items:
        for rank, (concept, score, shared) in enumerate(index.search(search_text(item), top), start=1):
            out.append(Suggestion(item, concept, score, rank, tuple(shared)))
    return out


SUGGEST_COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "object_label", "mapping_justification",
                   "confidence", "similarity_score", "similarity_measure", "mapping_tool", "mapping_date", "comment")
SIMILARITY_MEASURE = "BM25 over ESCO English labels and descriptions, divided by the query's maximum"


def write_sssom(suggestions: list[Suggestion], out, *, base: str, date: str, esco_version: str | None,
                curated: set[tuple[str, str]] = frozenset()) -> int:
    """Write ``suggestions`` as an SSSOM/TSV mapping set for review; returns the number of rows.

    Rows use ``semapv:LexicalSimilarityThresholdMatching`` (a lexical similarity score decided
    them, not a person) and ``skos:closeMatch`` as the proposed predicate, which the curator
    confirms or changes; the comment names the shared words and whether the pair is already curated.
    """
    prefixes = {"kg": base, "ESCO": ESCO, "skos": SKOS, "semapv": SEMAPV}
    metadata = {
        "mapping_set_id": f"{base}mappings/suggestions/esco",
        "mapping_set_title": "Candidate ESCO mappings proposed by 'ckg link suggest' (for review, not curated)",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "subject_source": base,
        "object_source": "http://data.europa.eu/esco/concept-scheme/skills",
        **({"object_source_version": f"ESCO v{esco_version}"} if esco_version else {}),
        "mapping_tool": "ckg link suggest",
        "mapping_date": date,
        "comment": ESCO_ATTRIBUTION,
        "curie_map": {"kg": base, "ESCO": ESCO},
    }

    def row(s: Suggestion) -> list[str]:
        note = f"rank {s.rank} for this {s.item.kind}; shared words: {', '.join(s.shared) or 'none'}"
        if (s.item.iri, s.concept.iri) in curated:
            note += "; already in a curated mapping set"
        return [compact(s.item.iri, prefixes), s.item.label, "skos:closeMatch", compact(s.concept.iri, prefixes), s.concept.label,
                "semapv:LexicalSimilarityThresholdMatching", f"{s.score:.3f}", f"{s.score:.3f}", SIMILARITY_MEASURE,
                "ckg link suggest", date, note]

    return write_table(out, metadata, SUGGEST_COLUMNS, map(row, suggestions))
