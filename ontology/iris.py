"""The IRI scheme in one place: every IRI the catalogue mints is made here (the README's *The model* lists them)."""
from __future__ import annotations

from dataclasses import dataclass

VOCAB = "https://w3id.org/competency-kg/def#"
"""The vocabulary namespace. Fixed, unlike the data base, so catalogues of other publishers share it."""
VOCAB_DOCUMENT = "https://w3id.org/competency-kg/def"


@dataclass(frozen=True)
class Iris:
    """IRIs of one catalogue, all under its configurable ``base`` (which ends with '/')."""

    base: str

    @property
    def dataset(self) -> str:
        return self.base

    @property
    def scheme(self) -> str:
        return f"{self.base}scheme"

    @property
    def level_scheme(self) -> str:
        return f"{self.base}levels"

    @property
    def sparql(self) -> str:
        return f"{self.base}sparql"

    def competency(self, slug: str) -> str:
        return f"{self.base}competency/{slug}"

    def competency_slug(self, iri: str) -> str | None:
        """The slug of the competency whose IRI is ``iri`` or an IRI below it (a level, a criterion)."""
        prefix = f"{self.base}competency/"
        if not iri.startswith(prefix):
            return None
        return iri[len(prefix):].split("/", 1)[0] or None

    def competency_level(self, slug: str, rank: int) -> str:
        return f"{self.base}competency/{slug}/level/{rank}"

    def criterion(self, slug: str, rank: int, position: int) -> str:
        return f"{self.base}competency/{slug}/level/{rank}/criterion/{position}"

    def level(self, rank: int) -> str:
        return f"{self.base}level/{rank}"

    def cluster(self, slug: str) -> str:
        return f"{self.base}cluster/{slug}"

    def offer(self, slug: str) -> str:
        return f"{self.base}offer/{slug}"

    def organisation(self, slug: str) -> str:
        return f"{self.base}organisation/{slug}"

    def contact(self, slug: str) -> str:
        return f"{self.base}organisation/{slug}/contact"

    def download(self, filename: str) -> str:
        return f"{self.base}downloads/{filename}"

    @property
    def releases(self) -> str:
        return f"{self.base}release/"

    def release(self, version: str) -> str:
        """The version IRI of a release: the catalogue as it was then lives below it."""
        return f"{self.base}release/{version}/"

    def release_file(self, version: str, filename: str) -> str:
        return f"{self.base}release/{version}/{filename}"

    @property
    def feed(self) -> str:
        return f"{self.base}feed"
