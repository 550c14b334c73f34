"""The bundled competency catalogue (data only); `CATALOG_DIR` is where it lies."""
import os
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent


def bundled_catalog() -> str:
    """The bundled catalogue's folder, shown relative to the working directory when it lies below it.

    Here, below both the command line and the service, so each can default to it without importing the other.
    """
    try:
        return os.path.relpath(CATALOG_DIR) if Path.cwd() in CATALOG_DIR.parents else str(CATALOG_DIR)
    except ValueError:
        return str(CATALOG_DIR)
