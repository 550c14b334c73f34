"""``{base}release/…``: every release, its "What changed" page, its files, and resources as they were.

The paths are resolved here and answered by the resources blueprint (same negotiation, twins,
ETags and cache as every other IRI): ``release/`` lists every release newest first,
``release/<v>/`` describes one (DCAT, from the current graph) and, as HTML, shows what changed in
it (added; changed with old and new text side by side; deprecated with replacements; removed), and
``release/<v>/<path>`` is the resource ``{base}<path>`` as it was in that release, read from the
release's own dump (``service.archive``). This module also answers a release's files and the 410 Gone
of a resource a major release removed; the resources blueprint calls it (it never calls back).
"""
from __future__ import annotations

import json
from typing import Any, Callable

from flask import Response, render_template

from ontology.namespaces import DCAT

from .archive import Gone
from .describe import LISTINGS, Description
from .edge import IMMUTABLE, VARY, accepted, error_text, file_answer, plain
from .html import UI, page_language, pick
from .render import OFFERED, Options
from .site import Site

SECTIONS = ("added", "changed", "deprecated", "removed")


def release_target(site: Site, path: str, target: type, page_number: Callable[[], int],
                   include_deprecated: Callable[[], bool]) -> Any:
    """The resources blueprint's Target for a path below ``release/``, or None."""
    archive, base = site.archive, site.base
    if path == "release/":
        return target(path, lambda: _releases_description(site), ("releases",), html=lambda d, o: _releases_page(site, d, o))
    version, _, rest = path[len("release/"):].partition("/")
    described = base + path
    if _current_describes(site, version, rest, described):
        # the current graph's description of a version not released yet, or of a release file (a twin such
        # as /release/1.0.0/catalogue.ttl.ttl: the file itself is served by release_file)
        return target(path, lambda: site.descriptions.resource(described), ("resource", described))
    if version not in archive.records or not path.startswith(f"release/{version}/"):
        return None
    if rest == "":
        return target(path, lambda: _release_description(site, version), ("release", version),
                      html=lambda d, o: _release_page(site, version, d, o))
    loaded = archive.descriptions(version)
    if loaded is None:
        return None
    index, pages = loaded
    segment = rest[:-1]
    if rest.endswith("/") and segment in LISTINGS:
        number, everything = page_number(), include_deprecated()
        return target(path, lambda: index.listing(segment, number, include_deprecated=everything),
                      ("release", version, "listing", segment, number, everything), paged=True, html=pages.render)
    iri = base + rest
    if _describes(index, iri):
        return target(path, lambda: index.resource(iri), ("release", version, iri), html=pages.render)
    return None


def _current_describes(site: Site, version: str, rest: str, described: str) -> bool:
    """Whether ``described`` is answered from the current graph: a version not released, or a release file."""
    archive = site.archive
    if site.catalogue is None:  # --store: the cheap test first, the engine is asked only then
        return (version not in archive.records or archive.file(version, rest) is not None) \
            and site.descriptions.has(described)
    return described in site.descriptions.by_subject and (version not in archive.records or archive.file(version, rest))


def _describes(index, iri: str) -> bool:
    """Whether the graph of ``index`` describes ``iri``: a lookup embedded, a question to the engine with --store."""
    by_subject = getattr(index, "by_subject", None)
    return iri in by_subject if by_subject is not None else index.has(iri)


def _node_triples(site: Site, iri: str) -> list:
    index = site.descriptions
    triples = list(index.by_subject.get(iri, ()))
    for t in list(triples):
        if t.predicate.value == DCAT + "distribution":
            triples += index.by_subject.get(t.object.value, [])
    return triples


def _releases_description(site: Site) -> Description:
    """Every release (dcat:hasVersion of the dataset), newest first in HTML; each with its own triples."""
    if site.catalogue is None:  # --store: read from the engine (service.store_releases)
        return site.archive.releases_description()
    index, base = site.descriptions, site.base
    dataset = [t for t in index.by_subject.get(base, ()) if t.predicate.value in (DCAT + "hasVersion", DCAT + "hasCurrentVersion")]
    triples = list(dataset)
    for version in site.archive.versions():
        triples += [t for t in index.by_subject.get(f"{base}release/{version}/", ())]
    return Description(f"{base}release/", "releases", index.with_link_labels(triples))


def _release_description(site: Site, version: str) -> Description:
    if site.catalogue is None:
        return site.archive.release_description(version)
    iri = f"{site.base}release/{version}/"
    return Description(iri, "release", site.descriptions.with_link_labels(_node_triples(site, iri)))


def _releases_page(site: Site, description: Description, options: Options) -> str:
    lang, path = options.lang, dict(options.extra).get("path", "release/")
    ui = UI.get(lang, UI["nl"])
    rows = [{"version": v, "issued": site.archive.records[v].issued, "href": f"/release/{v}/",
             "counts": site.archive.changes(v).get("counts", {}), "current": v == _current_version(site)}
            for v in site.archive.versions()]
    return render_template("releases.html", **site.pages.common(path, lang, ui["releases"]), releases=rows)


def _current_version(site: Site) -> str | None:
    return site.catalogue.version if site.catalogue is not None else site.archive.current_version


def _text_rows(change: dict, site: Site, version: str, lang: str) -> list[dict[str, str]]:
    """Old and new text side by side: the reader's language first, every language shown."""
    texts = sorted(change.get("texts", ()), key=lambda t: (t["language"] != lang, t["language"], t["property"]))
    return [{"property": t["property"].rsplit("#", 1)[-1].rsplit("/", 1)[-1], "language": t["language"],
             "old": t["old"], "new": t["new"]} for t in texts]


def _label(site: Site, version: str, iri: str, lang: str) -> str:
    """A resource's name as that release had it (the current graph's for what was removed before)."""
    for index in (_index_of(site, version), site.descriptions):
        if index is None:
            continue
        label = index.label(iri) or {o.language: o.value for o in index.objects(iri, "https://w3id.org/competency-kg/def#statement")
                                     if hasattr(o, "language") and o.language}
        if label:
            return pick(label, lang)
    return iri[len(site.base):]


def _index_of(site: Site, version: str):
    loaded = site.archive.descriptions(version)
    return loaded[0] if loaded else None


def _release_page(site: Site, version: str, description: Description, options: Options) -> str:
    lang, path = options.lang, dict(options.extra).get("path", f"release/{version}/")
    ui = UI.get(lang, UI["nl"])
    change_set = site.archive.changes(version)
    base = site.base
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
    previous = change_set.get("previous")
    whole = {(c["change"], c["iri"]) for c in change_set.get("changes", ()) if c["kind"] == "competency"}
    prefetch = getattr(site.archive, "prefetch_names", None)
    if prefetch is not None:  # --store: the names of every listed resource, in a few queries instead of one each
        named = [i for c in change_set.get("changes", ()) for i in (c["iri"], *c.get("replaced_by", ()))]
        for where in (version, previous):
            if where:
                prefetch(where, named)
    for change in change_set.get("changes", ()):
        iri = change["iri"]
        competency = "/".join(iri[len(base):].split("/")[:2])
        if change["kind"] in ("competency-level", "criterion") and change["change"] in ("added", "removed") \
                and (change["change"], base + competency) in whole:
            continue  # an added (removed) competency brings (takes) its levels and criteria: listed once
        where = previous if change["change"] == "removed" and previous else version
        sections[change["change"]].append({
            "iri": iri, "kind": change["kind"], "label": _label(site, where, iri, lang),
            "href": f"/release/{where}/{iri[len(base):]}",
            "texts": _text_rows(change, site, version, lang),
            "replaced_by": [{"href": f"/release/{version}/{r[len(base):]}", "label": _label(site, version, r, lang)}
                            for r in change.get("replaced_by", ())],
        })
    files = site.archive.manifest(version)["files"]
    return render_template("release.html", **site.pages.common(path, lang, f"{ui['version']} {version}"),
                           version=version, issued=site.archive.records[version].issued, previous=previous,
                           sections=sections, first=previous is None, files=files,
                           counts=change_set.get("counts", {}))


def release_file(site: Site, version: str, name: str) -> Response | None:
    """One file of a release (its dumps, manifest.json, changes.json), with its checksum as ETag; None if
    ``name`` is no file of that release (then it is a resource below the release, e.g. ``scheme``)."""
    found = site.archive.file(version, name)
    if found is None:
        return None
    path, media_type, sha256 = found
    response = file_answer(path, media_type, etag=sha256,
                           attachment=name if name not in ("manifest.json", "changes.json") else None)
    response.headers["Cache-Control"] = IMMUTABLE  # a release never changes
    return response


def gone_response(site: Site, gone: Gone) -> Response:
    """410 Gone: removed in which release, what replaces it, and the last release that had it."""
    base = site.base
    path = gone.iri[len(base):]
    last = f"/release/{gone.last_release}/{path}"
    replacements = ["/" + r[len(base):] if r.startswith(base) else r for r in gone.replaced_by]
    chosen = accepted(OFFERED) or "text/plain"
    links = [f'<{last}>; rel="memento"'] + [f'<{r}>; rel="successor-version"' for r in replacements]
    headers = {"Vary": VARY, "Link": ", ".join(links)}
    if chosen == "text/html":
        lang = page_language()
        ui = UI.get(lang, UI["nl"])
        body = render_template("gone.html", **site.pages.common(path, lang, ui["gone"]), iri=gone.iri,
                               removed_in=gone.removed_in, last=last, last_release=gone.last_release,
                               replacements=[{"href": r, "label": _label(site, gone.last_release, base + r[1:], lang)}
                                             for r in replacements])
        return Response(body, status=410, content_type="text/html; charset=utf-8", headers=headers)
    if chosen in ("application/ld+json", "application/json"):
        body = json.dumps({"error": "gone", "status": 410, "iri": gone.iri, "removedIn": gone.removed_in,
                           "lastRelease": gone.last_release, "asItWas": last, "replacedBy": list(gone.replaced_by)},
                          ensure_ascii=False, indent=2) + "\n"
        return Response(body, status=410, content_type="application/json", headers=headers)
    return plain(410, error_text(410, f"{gone.iri} was removed in release {gone.removed_in}.")
                 + f"As it was in release {gone.last_release}: {last}\n"
                 + "".join(f"Replaced by: {r}\n" for r in replacements), headers)
