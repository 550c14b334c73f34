"""The bundled competency catalogue (data only); `CATALOG_DIR` is where it lies."""
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent
