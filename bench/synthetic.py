"""Synthetic catalogues of any size, for benchmarks and scale tests.

Every generated text says it is synthetic, so such a catalogue can never be mistaken for the
consultancy's content. The metadata and levels are copied from the bundled catalogue; only the
competencies are invented, with the same shape as Klantgerichtheid (5 levels × 3 criteria, 2 offers).

Each competency also gets two SSSOM mapping rows to ESCO skills (``mappings/esco.sssom.tsv``): one
from the competency (closeMatch), one from one of its criteria (relatedMatch), so that reading,
checking and writing mappings is timed at scale — a catalogue whose editors map every competency
once or twice, about a tenth as densely as the curated Klantgerichtheid (22 rows). The objects are
real ESCO skills from the CSV download in ``ESCO_ZIP`` when it is there (each row's skill picked by a
fixed stride, so the same catalogue comes out every time), else IRIs of the same shape that say they
are synthetic; only the subjects are checked against the graph, so both take the same code path.
"""
from __future__ import annotations

import csv
import io
import shutil
import sys
import zipfile
from pathlib import Path

from catalog import CATALOG_DIR

TEMPLATE = """\
# SYNTHETIC competency {n} for benchmarks: not real content.
slug: synthetic-{n}
cluster: {cluster}
name:
  nl: Synthetische competentie {n}
  en: Synthetic competency {n}
definition:
  nl: Synthetische omschrijving {n}, alleen voor metingen.
  en: Synthetic definition {n}, for measurements only.
levels:
{levels}development:
  - slug: synthetic-{n}-workshop
    kind: workshop
    name:
      nl: Synthetische workshop {n}
      en: Synthetic workshop {n}
  - slug: synthetic-{n}-coaching
    kind: coaching
    name:
      nl: Synthetische coaching {n}
      en: Synthetic coaching {n}
"""
LEVEL = """\
  - level: {rank}
    criteria:
{criteria}"""
CRITERION = """\
      - nl: Synthetisch gedragscriterium {n}.{rank}.{i} dat laat zien hoe gedrag op dit niveau eruitziet.
        en: Synthetic behavioural criterion {n}.{rank}.{i} showing what behaviour at this level looks like.
"""
CLUSTERS = ["ondernemen", "samenwerken", "leidinggeven", "communiceren"]
ESCO_ZIP = Path("/work/shared/esco/esco-v1.1.1-classification-en-csv.zip")
MAPPING_HEADER = """\
# SYNTHETIC mapping set for benchmarks: not real content.
# mapping_set_id: https://w3id.org/competency-kg/mappings/synthetic-esco
# mapping_set_version: 1.0.0
# mapping_set_title: SYNTHETIC mappings to ESCO skills, for benchmarks only
# license: https://creativecommons.org/licenses/by/4.0/
# subject_source: https://w3id.org/competency-kg/
# object_source: http://data.europa.eu/esco/concept-scheme/skills
# object_source_version: ESCO v1.1.1
# mapping_date: 2026-11-27
# curie_map:
#   kg: https://w3id.org/competency-kg/
#   ESCO: http://data.europa.eu/esco/
subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\tmapping_justification\tauthor_id\tauthor_label\tmapping_date\tconfidence\tcomment
"""
MAPPING_ROW = ("kg:{subject}\t{subject_label}\t{predicate}\tESCO:skill/{skill}\t{skill_label}\t"
               "semapv:ManualMappingCuration\tkg:agent/editors\tcompetency-kg editors\t2026-11-27\t{confidence}\t"
               "SYNTHETIC mapping {n} for benchmarks\n")


def esco_skills(zip_path: Path = ESCO_ZIP) -> list[tuple[str, str]]:
    """(uuid, English label) of every ESCO skill in the CSV download; synthetic stand-ins without it."""
    if zip_path.is_file():
        with zipfile.ZipFile(zip_path) as archive, archive.open("skills_en.csv") as raw:
            rows = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))
            skills = [(row["conceptUri"].rsplit("/", 1)[1], row["preferredLabel"]) for row in rows
                      if row["conceptUri"].startswith("http://data.europa.eu/esco/skill/")]
        if skills:
            return skills
    return [(f"00000000-0000-4000-8000-{i:012d}", f"synthetic ESCO skill {i}") for i in range(13_890)]


def write_mappings(target: Path, competencies: int) -> Path:
    """Two mapping rows per competency into ``target/mappings/esco.sssom.tsv``."""
    skills = esco_skills()
    folder = target / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "esco.sssom.tsv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(MAPPING_HEADER)
        for n in range(1, competencies + 1):
            rank, i = n % 5 + 1, n % 3 + 1
            for subject, label, predicate, confidence, pick in (
                    (f"competency/synthetic-{n}", f"Synthetic competency {n}", "skos:closeMatch", "0.8", 2 * n),
                    (f"competency/synthetic-{n}/level/{rank}/criterion/{i}",
                     f"Synthetic behavioural criterion {n}.{rank}.{i}", "skos:relatedMatch", "0.6", 2 * n + 1)):
                skill, skill_label = skills[pick * 7919 % len(skills)]
                out.write(MAPPING_ROW.format(subject=subject, subject_label=label, predicate=predicate, skill=skill,
                                             skill_label=skill_label.replace("\t", " "), confidence=confidence, n=n))
    return path


def generate(target: Path, competencies: int, mappings: bool = True) -> Path:
    """Write a synthetic catalogue of ``competencies`` competencies into ``target`` (replaced),
    with two ESCO mapping rows per competency unless ``mappings`` is false."""
    if target.exists():
        shutil.rmtree(target)
    (target / "competencies").mkdir(parents=True)
    meta = (CATALOG_DIR / "catalog.yaml").read_text(encoding="utf-8")
    extra = "".join(f"  - slug: {c}\n    name:\n      nl: Synthetisch cluster {c}\n      en: Synthetic cluster {c}\n"
                    for c in CLUSTERS[1:])
    (target / "catalog.yaml").write_text(meta.rstrip("\n") + "\n" + extra, encoding="utf-8")
    shutil.copy(CATALOG_DIR / "levels.yaml", target / "levels.yaml")
    for n in range(1, competencies + 1):
        levels = "".join(
            LEVEL.format(rank=rank, criteria="".join(CRITERION.format(n=n, rank=rank, i=i) for i in range(1, 4)))
            for rank in range(1, 6))
        text = TEMPLATE.format(n=n, cluster=CLUSTERS[n % len(CLUSTERS)], levels=levels)
        (target / "competencies" / f"synthetic-{n:06d}.yaml").write_text(text, encoding="utf-8")
    if mappings:
        write_mappings(target, competencies)
    return target


FORMAT = "2 ESCO mappings per competency\n"
"""Written into a finished catalogue's ``.complete`` marker; change it whenever ``generate`` changes."""


def ensure(target: Path, competencies: int) -> Path:
    """The synthetic catalogue at ``target``, reused only if a finished run of this ``generate`` wrote it."""
    marker = target / ".complete"
    if not marker.is_file() or marker.read_text(encoding="utf-8") != FORMAT:
        generate(target, competencies)
        marker.write_text(FORMAT, encoding="utf-8")
    return target


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]), int(sys.argv[2])))
