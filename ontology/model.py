"""The checked catalogue as plain Python objects: what the YAML says, nothing RDF-specific yet."""
from __future__ import annotations

from dataclasses import dataclass, field

Text = dict[str, str]
"""A text per language tag, e.g. ``{"nl": "Klantgerichtheid", "en": "Customer orientation"}``."""


@dataclass(frozen=True)
class Source:
    """Where an entity is written, so a problem found later (SHACL) points back into the YAML."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Deprecation:
    """A published resource that is no longer recommended, and what to use instead.

    ``replaced_by`` holds paths below the base (``competency/klantbewustzijn``): written that
    way in the YAML so a catalogue can move to another base without editing them. Zero
    replacements is allowed (a resource withdrawn without successor); several is a split.
    """

    replaced_by: tuple[str, ...]
    note: Text | None
    source: Source


@dataclass
class Cluster:
    slug: str
    name: Text
    description: Text | None
    source: Source


@dataclass
class Publisher:
    slug: str
    name: str
    tagline: Text | None
    homepage: str
    telephone: str
    email: str


@dataclass
class Level:
    """A generic behaviour level (1 Basis/Starter … 5 Strategie/Leiderschap)."""

    rank: int
    name: Text
    description: Text
    source: Source
    deprecated: Deprecation | None = None


@dataclass
class Criterion:
    position: int
    statement: Text
    source: Source
    deprecated: Deprecation | None = None


@dataclass
class CompetencyLevel:
    """A competency described at one generic level: the criteria expected there."""

    rank: int
    criteria: list[Criterion]
    source: Source
    deprecated: Deprecation | None = None


@dataclass
class DevelopmentOffer:
    slug: str
    kind: str
    name: Text
    source: Source


@dataclass
class Competency:
    slug: str
    cluster: str
    name: Text
    definition: Text | None
    levels: list[CompetencyLevel]
    development: list[DevelopmentOffer]
    source: Source
    field_lines: dict[str, int] = field(default_factory=dict)
    """Line of each top-level field, for problems found after the file was read."""
    deprecated: Deprecation | None = None


@dataclass(frozen=True)
class ReleaseRecord:
    """A published release as its folder's manifest records it (``CATALOG_DIR/releases/<version>/``).

    Everything the graph says about a past release comes from here, never from the clock, so a
    catalogue builds to the same bytes whenever it is built.
    """

    version: str
    issued: str
    previous: str | None
    title: Text
    license: str
    files: tuple[tuple[str, str], ...]
    """(file name, media type) of each file of the release, as its manifest lists them."""
    base: str = ""
    """The base IRI the release was written under (a catalogue may be served under another)."""


@dataclass
class Catalogue:
    base: str
    title: Text
    description: Text
    criteria_note: Text | None
    version: str
    issued: str
    modified: str
    license: str
    source_page: str
    publisher: Publisher
    clusters: list[Cluster]
    levels_name: Text
    levels_description: Text | None
    levels: list[Level]
    competencies: list[Competency] = field(default_factory=list)
    releases: list[ReleaseRecord] = field(default_factory=list)
    """The catalogue's earlier releases, oldest first (``ontology.releases.read_releases``)."""
