"""The IRI scheme of DESIGN.md in one place: every IRI the catalogue mints is made here."""
from __future__ import annotations

from dataclasses import dataclass

VOCAB = "https://w3id.org/competency-kg/def#"
"""The vocabulary namespace. Fixed, unlike the data base, so catalogues of other publishers share it."""
VOCAB_DOCUMENT = "https://w3id.org/competency-kg/def"
DEFAULT_BASE = "https://w3id.org/competency-kg/"


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
