"""The competency × level × criterion table, for people who live in spreadsheets.

Rows come from the same nested nodes as the JSON-LD (a competency with its levels in rank order,
each with its criteria in position order), so the two exports cannot disagree.
"""
from __future__ import annotations

import csv
from typing import Any, Iterable, TextIO

COMPETENCY = "Competency"


def _text(value: dict[str, Any] | None, language: str) -> str:
    text = (value or {}).get(language, "")
    return text if isinstance(text, str) else " | ".join(text)


class TableWriter:
    """Writes one row per criterion; ``level_names`` labels the generic levels by their IRI."""

    def __init__(self, out: TextIO, languages: list[str], level_names: dict[str, dict[str, Any]]):
        self.languages = languages
        self.level_names = level_names
        self.rows = 0
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(["competency", "competency_slug", *[f"competency_{l}" for l in languages], "cluster",
                              "level", "level_rank", *[f"level_{l}" for l in languages],
                              "criterion", "criterion_position", *[f"criterion_{l}" for l in languages]])

    def add(self, node: dict[str, Any]) -> None:
        """Write the rows of ``node`` if it is a competency; other nodes have no place in the table."""
        if COMPETENCY not in node.get("type", ()):
            return
        names = [_text(node.get("prefLabel"), l) for l in self.languages]
        broader = node.get("broader", "")
        cluster = broader if isinstance(broader, str) else " ".join(broader)
        for level in node.get("levels", []):
            level_iri = level.get("level", "")
            level_names = [_text(self.level_names.get(level_iri), l) for l in self.languages]
            for criterion in level.get("criteria", []):
                self.writer.writerow([node["id"], node["id"].rsplit("/", 1)[-1], *names, cluster,
                                      level_iri, level.get("rank", ""), *level_names,
                                      criterion["id"], criterion.get("position", ""),
                                      *[_text(criterion.get("statement"), l) for l in self.languages]])
                self.rows += 1


def languages_of(texts: Iterable[dict[str, Any]]) -> list[str]:
    """Languages of the given language maps, Dutch (the source) first: one column set per language."""
    found = {language for text in texts for language in text}
    return sorted(found or {"nl"}, key=lambda language: (language != "nl", language))
