"""HTML pages for people: what each kind of resource shows, in the reader's language.

Language rule (pages only; RDF formats always carry every language, since language maps let
clients choose and a filtered graph would be a different, lossy document):

1. ``?lang=nl`` or ``?lang=en`` wins;
2. else the best of nl/en in ``Accept-Language`` (q-values honoured; ``en-GB`` counts as en);
3. else Dutch, the source language.

Each text is then shown in that language, falling back in the fixed order nl, en, then any other
language (alphabetically first tag), so a page never shows a random language. Pages read the
subject index of ``service.describe`` (the same triples the data twins are written from).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import quote, urlencode

from flask import current_app, render_template, request
from pyoxigraph import Literal

from ontology.namespaces import CKG, DCAT, DCT, OWL, RDF, RDFS, SKOS, SSSOM, VOID, compact as curie

from linking.frameworks import attribution_for

from .describe import Description, Descriptions
from .render import FORMATS, RDF_PREFIXES, Options

LANGUAGES = ("nl", "en")
"""Languages of the page chrome and of the language switch, in fallback order."""

UI: dict[str, dict[str, str]] = {lang: json.loads((files("service") / "messages" / f"{lang}.json").read_text("utf-8"))
                                 for lang in LANGUAGES}
"""The interface strings per language, read once from ``service/messages/{lang}.json`` (translators edit those)."""

EXAMPLES: list[tuple[dict[str, str], str]] = [
    ({"nl": "Alle competenties met hun naam", "en": "Every competency with its name"}, """\
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX ckg: <https://w3id.org/competency-kg/def#>
SELECT ?competency ?name WHERE {
  ?competency a ckg:Competency ; skos:prefLabel ?name .
  FILTER(lang(?name) = "nl")
} ORDER BY ?name LIMIT 100"""),
    ({"nl": "Gedragscriteria op niveau 3", "en": "Behavioural criteria at level 3"}, """\
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX ckg: <https://w3id.org/competency-kg/def#>
SELECT ?competency ?position ?statement WHERE {
  ?competency ckg:hasLevel ?cl .
  ?cl ckg:rank 3 ; ckg:hasCriterion ?criterion .
  ?criterion ckg:position ?position ; ckg:statement ?statement .
  FILTER(lang(?statement) = "en")
} ORDER BY ?competency ?position LIMIT 100"""),
    ({"nl": "De vijf gedragsniveaus", "en": "The five behaviour levels"}, """\
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX ckg: <https://w3id.org/competency-kg/def#>
SELECT ?rank ?name WHERE {
  ?level a ckg:ProficiencyLevel ; ckg:rank ?rank ; skos:prefLabel ?name .
  FILTER(lang(?name) = "nl")
} ORDER BY ?rank"""),
]


def page_language() -> str:
    """The language of the page to write for this request (rule in the module docstring)."""
    asked = request.args.get("lang")
    if asked:
        primary = asked.strip().lower().split("-")[0]
        return primary if primary in LANGUAGES else LANGUAGES[0]
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def pick(texts: dict[str, str], lang: str) -> str:
    """The text in ``lang``, else nl, else en, else the untagged one, else the first tag's."""
    for choice in (lang, *LANGUAGES, ""):
        if choice in texts:
            return texts[choice]
    return texts[sorted(texts)[0]] if texts else ""


def compact(iri: str) -> str:
    """``skos:prefLabel`` for a known namespace, else the IRI."""
    return curie(iri, RDF_PREFIXES)


def with_lang(href: str, lang: str) -> str:
    """A local link that keeps the reader's language (template filter ``l``); other links untouched."""
    if not href.startswith("/"):
        return href
    return f"{href}{'&' if '?' in href else '?'}lang={lang}"


def twin_url(path: str, name: str, page: int = 1) -> str:
    """The local URL of ``path``'s twin in format ``name``: a suffix, or ``?format=`` for paths ending in '/'."""
    paging = f"page={page}" if page > 1 else ""
    if path == "" or path.endswith("/"):
        return f"/{quote(path)}?format={name}" + (f"&{paging}" if paging else "")
    return f"/{quote(path)}.{name}" + (f"?{paging}" if paging else "")


@dataclass
class Link:
    href: str
    text: str


class Pages:
    """Writes the HTML of each description; one instance per site (reads its index, never changes it).

    It is given what it reads, not the site: the index of descriptions, the base IRI (to make
    links local) and the concept scheme (whose scope note every competency page shows).
    """

    def __init__(self, index: Descriptions, scheme: str, archive: Any = None):
        self.index = index
        self.base = index.base
        self.scheme = scheme
        self.archive = archive
        """The releases (service.archive.Archive), for each resource's history; None on archived pages."""

    @property
    def has_mappings(self) -> bool:
        """Whether the mappings page ({base}mappings, another blueprint) is served: only then is it linked."""
        return any(rule.rule == "/mappings" for rule in current_app.url_map.iter_rules())

    # ---- helpers shared by the templates ----

    def href(self, iri: str) -> str:
        """Local link for IRIs under the base (so browsing stays on this server), else the IRI."""
        base = self.base
        return "/" + iri[len(base):] if iri.startswith(base) else iri

    def texts(self, iri: str, predicate: str) -> dict[str, str]:
        """The literal values of ``predicate`` per language tag ('' when untagged)."""
        return {o.language or "": o.value for o in self.index.objects(iri, predicate) if isinstance(o, Literal)}

    def link(self, iri: str, lang: str) -> Link:
        label = pick(self.index.label(iri) or self.texts(iri, CKG + "statement"), lang)
        return Link(self.href(iri), label or compact(iri))

    def common(self, path: str, lang: str, title: str, page: int = 1) -> dict[str, Any]:
        here = "/" + path
        twins = [(f.label, f.media_type, twin_url(path, f.name, page if path.endswith("/") else 1))
                 for f in FORMATS.values() if f.name != "html"]
        switch = []
        for code in LANGUAGES:
            params = {"lang": code, **({"page": page} if page > 1 else {})}
            switch.append((code, f"{here}?{urlencode(params)}", code == lang))
        dataset = self.base
        return {
            **self.lineage(self.iri_of(path), lang),
            "has_mappings": self.has_mappings,
            "lang": lang, "ui": UI.get(lang, UI["nl"]), "title": title, "twins": twins, "switch": switch,
            "site_title": pick(self.texts(dataset, DCT + "title"), lang),
            "base": self.base,
            "resource_path": here,  # request.path may be its .html twin, and one render serves both
        }

    def iri_of(self, path: str) -> str:
        """The IRI a page at ``path`` is about (an archived release's pages drop their prefix)."""
        return self.base + path

    def lineage(self, iri: str, lang: str) -> dict[str, Any]:
        """What a deprecated resource is replaced by (shown on top of its page), and what it replaces."""
        idx = self.index
        if iri not in idx.by_subject:
            return {"deprecation": None, "replaces": [], "history": []}
        deprecation = None
        if idx.deprecated(iri):
            deprecation = {"replacements": [self.link(o.value, lang) for o in idx.objects(iri, DCT + "isReplacedBy")],
                           "note": pick(self.texts(iri, SKOS + "historyNote"), lang)}
        history = []
        if self.archive is not None:
            for entry in self.archive.history(iri):
                history.append({"version": entry.version, "issued": entry.issued, "change": entry.change,
                                "href": f"/release/{entry.version}/{iri[len(self.base):]}",
                                "changes_href": f"/release/{entry.version}/"})
        return {"deprecation": deprecation, "history": history,
                "replaces": [self.link(o.value, lang) for o in idx.objects(iri, DCT + "replaces")]}

    def matches(self, nodes: list[str], lang: str) -> dict[str, Any]:
        """The SKOS mapping links of ``nodes``, each named by its mapping record, and the attribution
        the linked framework requires (ESCO's must be shown wherever its content appears)."""
        idx, rows = self.index, []
        for node in nodes:
            labels = {}
            for record in idx.mappings.get(node, ()):
                target = idx.value(record, OWL + "annotatedTarget")
                labels[target] = idx.value(record, SSSOM + "object_label")
            for t in idx.by_subject.get(node, ()):
                predicate = t.predicate.value
                if predicate.startswith(SKOS) and predicate.endswith("Match"):
                    relation = predicate[len(SKOS):]
                    rows.append({"source": self.link(node, lang), "relation": relation,
                                 "href": t.object.value, "label": labels.get(t.object.value) or t.object.value})
        return {"matches": rows, "attribution": attribution_for(row["href"] for row in rows)}

    # ---- the pages ----

    def render(self, description: Description, options: Options) -> str:
        extra = dict(options.extra)
        path, page, lang = extra.get("path", ""), int(extra.get("page", 1)), options.lang
        writer = getattr(self, "_" + description.kind.replace("-", "_"), self._resource)
        return writer(description, path, lang, page)

    def _dataset(self, d: Description, path: str, lang: str, page: int) -> str:
        iri, idx = d.iri, self.index
        clusters = []
        for cluster in idx.instances(CKG + "Cluster"):
            members = idx.competencies_by_cluster.get(cluster, [])
            clusters.append({"link": self.link(cluster, lang), "count": len(members),
                             "members": [self.link(m, lang) for m in members[:20]]})
        stats = {t.predicate.value.rsplit("#", 1)[-1]: t.object.value for t in d.triples
                 if t.subject.value == iri and t.predicate.value.startswith(VOID) and t.predicate.value != VOID + "dataDump"
                 and t.predicate.value in (VOID + "triples", VOID + "entities")}
        publisher = idx.value(iri, DCT + "publisher")
        return render_template(
            "home.html", **self.common(path, lang, pick(self.texts(iri, DCT + "title"), lang)),
            description=pick(self.texts(iri, DCT + "description"), lang).split("\n"),
            clusters=clusters, stats=stats, competencies=len(idx.instances(CKG + "Competency")),
            publisher=self.link(publisher, lang) if publisher else None,
            license=idx.value(iri, DCT + "license"), version=idx.value(iri, DCAT + "version"),
            modified=idx.value(iri, DCT + "modified"), source=idx.value(iri, DCT + "source"),
            levels=[self.link(level, lang) for level in idx.instances(CKG + "ProficiencyLevel")],
            downloads=sorted(t.object.value for t in d.triples if t.predicate.value == VOID + "dataDump"),
        )

    def _competency(self, d: Description, path: str, lang: str, page: int) -> str:
        iri, idx = d.iri, self.index
        levels = []
        for level_iri in sorted((o.value for o in idx.objects(iri, CKG + "hasLevel")), key=idx.sort_key):
            generic = idx.value(level_iri, CKG + "level")
            criteria = sorted((o.value for o in idx.objects(level_iri, CKG + "hasCriterion")), key=idx.sort_key)
            levels.append({
                "rank": idx.value(level_iri, CKG + "rank"), "href": self.href(level_iri), "iri": level_iri,
                "generic": self.link(generic, lang) if generic else None,
                "criteria": [{"href": self.href(c), "iri": c, "text": pick(self.texts(c, CKG + "statement"), lang)}
                             for c in criteria],
            })
        rows = max((len(level["criteria"]) for level in levels), default=0)
        cluster = idx.value(iri, SKOS + "broader") or idx.value(iri, CKG + "formerCluster")  # deprecated: left the hierarchy
        owned = [iri, *(level["iri"] for level in levels), *(c["iri"] for level in levels for c in level["criteria"])]
        return render_template(
            "competency.html", **self.common(path, lang, pick(idx.label(iri), lang)),
            definition=pick(self.texts(iri, SKOS + "definition"), lang), levels=levels, rows=range(rows),
            cluster=self.link(cluster, lang) if cluster else None,
            offers=[self.link(o.value, lang) for o in idx.objects(iri, CKG + "developmentOffer")],
            note=pick(self.texts(self.scheme, SKOS + "scopeNote"), lang),
            **self.matches(owned, lang),
        )

    def _competency_level(self, d: Description, path: str, lang: str, page: int) -> str:
        iri, idx = d.iri, self.index
        competency, generic = idx.value(iri, SKOS + "broader"), idx.value(iri, CKG + "level")
        criteria = sorted((o.value for o in idx.objects(iri, CKG + "hasCriterion")), key=idx.sort_key)
        return render_template(
            "competency_level.html", **self.common(path, lang, pick(idx.label(iri), lang)),
            competency=self.link(competency, lang) if competency else None,
            generic=self.link(generic, lang) if generic else None,
            generic_definition=pick(self.texts(generic, SKOS + "definition"), lang) if generic else "",
            criteria=[{"href": self.href(c), "text": pick(self.texts(c, CKG + "statement"), lang),
                       "position": idx.value(c, CKG + "position")} for c in criteria],
            **self.matches([iri, *criteria], lang),
        )

    def _criterion(self, d: Description, path: str, lang: str, page: int) -> str:
        iri, idx = d.iri, self.index
        parent = idx.parents.get(iri)
        competency = idx.parents.get(parent) if parent else None
        return render_template(
            "criterion.html", **self.common(path, lang, pick(self.texts(iri, CKG + "statement"), lang)),
            statement=pick(self.texts(iri, CKG + "statement"), lang), position=idx.value(iri, CKG + "position"),
            parent=self.link(parent, lang) if parent else None,
            competency=self.link(competency, lang) if competency else None,
            **self.matches([iri], lang),
        )

    def _level(self, d: Description, path: str, lang: str, page: int) -> str:
        iri, idx = d.iri, self.index
        at_level = idx.by_level.get(iri, [])
        paged = idx.paginate(iri, at_level, page) or idx.paginate(iri, at_level, 1)
        rows = []
        for level_iri in paged.members:
            competency = idx.value(level_iri, SKOS + "broader")
            criteria = sorted((o.value for o in idx.objects(level_iri, CKG + "hasCriterion")), key=idx.sort_key)
            rows.append({"competency": self.link(competency, lang), "href": self.href(level_iri),
                         "criteria": [pick(self.texts(c, CKG + "statement"), lang) for c in criteria]})
        return render_template(
            "level.html", **self.common(path, lang, pick(idx.label(iri), lang), page),
            rank=idx.value(iri, CKG + "rank"), definition=pick(self.texts(iri, SKOS + "definition"), lang),
            rows=rows, pager=self._pager(paged, lang), here=self.href(iri),
            others=[self.link(level, lang) for level in idx.instances(CKG + "ProficiencyLevel")],
        )

    def _cluster(self, d: Description, path: str, lang: str, page: int) -> str:
        iri, idx = d.iri, self.index
        members = idx.competencies_by_cluster.get(iri, [])
        paged = idx.paginate(iri, members, page) or idx.paginate(iri, members, 1)
        return render_template(
            "cluster.html", **self.common(path, lang, pick(idx.label(iri), lang), page),
            definition=pick(self.texts(iri, SKOS + "definition"), lang),
            members=[{"link": self.link(m, lang), "definition": pick(self.texts(m, SKOS + "definition"), lang)}
                     for m in paged.members],
            total=len(members), pager=self._pager(paged, lang),
        )

    def _listing(self, d: Description, path: str, lang: str, page: int) -> str:
        idx, paged = self.index, d.page
        segment = path.rstrip("/")
        title = UI[lang if lang in UI else "nl"].get({"competency": "competencies", "level": "levels"}.get(segment, "clusters"))
        members = []
        for member in paged.members:
            broader = idx.value(member, SKOS + "broader")
            members.append({"link": self.link(member, lang), "cluster": self.link(broader, lang) if broader else None})
        return render_template("listing.html", **self.common(path, lang, title, paged.number),
                               members=members, total=paged.total, pager=self._pager(paged, lang))

    def _vocabulary(self, d: Description, path: str, lang: str, page: int) -> str:
        by_subject: dict[str, list] = {}
        for t in d.triples:
            by_subject.setdefault(t.subject.value, []).append(t)
        terms = {"classes": [], "properties": []}
        for subject, triples in sorted(by_subject.items()):
            types = {t.object.value for t in triples if t.predicate.value == RDF + "type"}
            group = "classes" if OWL + "Class" in types else "properties" if types & {
                OWL + "ObjectProperty", OWL + "DatatypeProperty", RDF + "Property"} else None
            if group is None:
                continue
            texts = lambda p: {t.object.language or "": t.object.value for t in triples if t.predicate.value == p}
            terms[group].append({"id": subject.rsplit("#", 1)[-1], "iri": subject, "name": compact(subject),
                                 "label": pick(texts(RDFS + "label"), lang),
                                 "definition": pick(texts(SKOS + "definition") or texts(RDFS + "comment"), lang)})
        about = [t for t in d.triples if t.subject.value == d.iri]
        title = pick({t.object.language or "": t.object.value for t in about if t.predicate.value == DCT + "title"}, lang)
        return render_template("vocabulary.html", **self.common(path, lang, title or compact(d.iri)), terms=terms,
                               description=pick({t.object.language or "": t.object.value for t in about
                                                 if t.predicate.value == DCT + "description"}, lang))

    def _shapes(self, d: Description, path: str, lang: str, page: int) -> str:
        return render_template("source.html", **self.common(path, lang, UI[lang]["shapes"]),
                               source=(d.turtle or b"").decode("utf-8"))

    def _resource(self, d: Description, path: str, lang: str, page: int) -> str:
        """Any other node (scheme, offer, organisation, contact...): its statements as a table."""
        iri, idx = d.iri, self.index
        rows, shown = [], set()
        for t in idx.by_subject.get(iri, []):
            predicate, obj = t.predicate.value, t.object
            if isinstance(obj, Literal) and obj.language:
                if predicate not in shown:  # one language per text: the reader's, by the fallback order
                    shown.add(predicate)
                    rows.append((compact(predicate), None, pick(self.texts(iri, predicate), lang)))
            elif isinstance(obj, Literal):
                rows.append((compact(predicate), None, obj.value))
            elif obj.value in idx.by_subject:
                rows.append((compact(predicate), self.link(obj.value, lang), None))
            else:
                rows.append((compact(predicate), Link(self.href(obj.value), compact(obj.value)), None))
        children = [self.link(o.value, lang) for o in idx.objects(iri, SKOS + "hasTopConcept")]
        return render_template("resource.html", **self.common(path, lang, pick(idx.label(iri), lang) or compact(iri)),
                               iri=iri, rows=rows, children=children)

    def _pager(self, page, lang: str) -> dict[str, Any] | None:
        if page is None or page.count <= 1:
            return None
        return {"number": page.number, "count": page.count,
                "previous": self.href(page.previous) if page.previous else None,
                "next": self.href(page.next) if page.next else None,
                "first": self.href(page.first), "last": self.href(page.last)}

    # ---- pages that are not resources ----

    def missing(self, iri: str, close: list[str], listings: list[str], lang: str) -> str:
        return render_template("missing.html", **self.common("", lang, UI[lang]["not_found"]),
                               iri=iri, close=close, listings=listings)

    def query(self, lang: str) -> str:
        common = self.common("query", lang, UI[lang]["query"])
        common["twins"] = []
        return render_template("query.html", **common,
                               examples=[(pick(name, lang), text) for name, text in EXAMPLES])
