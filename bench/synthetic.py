"""Synthetic catalogues of any size, for benchmarks and scale tests.

Every generated text says it is synthetic, so such a catalogue can never be mistaken for the
consultancy's content. The metadata and levels are copied from the bundled catalogue; only the
competencies are invented, with the same shape as Klantgerichtheid (5 levels × 3 criteria, 2 offers).
"""
from __future__ import annotations

import shutil
import sys
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


def generate(target: Path, competencies: int) -> Path:
    """Write a synthetic catalogue of ``competencies`` competencies into ``target`` (replaced)."""
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
    return target


if __name__ == "__main__":
    print(generate(Path(sys.argv[1]), int(sys.argv[2])))
