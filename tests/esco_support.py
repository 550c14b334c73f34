"""Where the tests find the official ESCO downloads, and how they skip when those are absent."""
from __future__ import annotations

import csv
import io
import zipfile
from functools import cache
from pathlib import Path

import pytest

from conftest import SHARED, skip_reason

ESCO_DIR = SHARED / "esco"
CLASSIFICATION_ZIP = ESCO_DIR / "esco-v1.1.1-classification-en-csv.zip"
RELATIONS_ZIP = ESCO_DIR / "esco-v1.1.1-relations-csv.zip"

needs_esco = pytest.mark.skipif(
    not (CLASSIFICATION_ZIP.is_file() and RELATIONS_ZIP.is_file()),
    reason=skip_reason(f"the official ESCO v1.1.1 CSV downloads are not in {ESCO_DIR}"))


@cache
def esco_skills() -> dict[str, dict[str, str]]:
    """skills_en.csv rows by concept URI, read straight from the official zip."""
    with zipfile.ZipFile(CLASSIFICATION_ZIP) as archive:
        with archive.open("skills_en.csv") as raw:
            return {row["conceptUri"]: row for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))}


@cache
def _full_import():
    """Import once per test process, whichever test modules ask (a fixture imported into several
    modules would be set up once per module)."""
    import atexit
    import shutil
    import tempfile

    from linking.esco import import_esco
    folder = Path(tempfile.mkdtemp(prefix="ckg-esco-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    out = folder / "esco.nq"
    return out, import_esco([CLASSIFICATION_ZIP, RELATIONS_ZIP], out)


@pytest.fixture(scope="session")
def full_esco():
    """The whole English ESCO imported once per test session (about 10 s): (N-Quads file, ImportStats)."""
    if not (CLASSIFICATION_ZIP.is_file() and RELATIONS_ZIP.is_file()):
        pytest.skip(skip_reason(f"the official ESCO v1.1.1 CSV downloads are not in {ESCO_DIR}"))
    return _full_import()
