"""The external frameworks the catalogue links to, and the attribution each one requires.

A framework's reuse conditions are a legal rule, not a display choice: ESCO's says "This service
uses the ESCO classification of the European Commission." must be shown wherever its content
appears (in pages, in mapping sets, in files that carry its labels). Every place that shows or
writes linked content asks :func:`attribution_for` instead of testing namespaces itself, so adding
a framework, or changing its wording, is one edit here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Framework:
    """A classification we map to: where its IRIs live and what its reuse conditions require."""

    name: str
    namespace: str
    homepage: str
    attribution: str
    licence: str


ESCO_FRAMEWORK = Framework(
    name="ESCO",
    namespace="http://data.europa.eu/esco/",
    homepage="https://esco.ec.europa.eu/",
    attribution="This service uses the ESCO classification of the European Commission.",
    # Commission Decision 2011/833/EU on the reuse of Commission documents, under which ESCO is published.
    licence="https://eur-lex.europa.eu/eli/dec/2011/833/oj",
)
FRAMEWORKS: tuple[Framework, ...] = (ESCO_FRAMEWORK,)

ESCO = ESCO_FRAMEWORK.namespace
ESCO_ATTRIBUTION = ESCO_FRAMEWORK.attribution


def attribution_for(iris: Iterable[str]) -> str:
    """The attribution text owed for content linking to ``iris`` ("" when none is owed).

    One sentence per framework that any of the IRIs belongs to, in the order of ``FRAMEWORKS``.
    """
    iris = list(iris)
    return " ".join(f.attribution for f in FRAMEWORKS if any(iri.startswith(f.namespace) for iri in iris))
