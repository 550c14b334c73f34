"""``/static/`` (service.static_files): the same ETag on every replica for the same bytes, whenever each was
installed; conditional GETs; nothing outside the files read at start-up can be asked for."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from flask import Flask

from catalog import CATALOG_DIR
from service import static_files
from service.app import create_app
from service.config import ServiceConfig
from service.edge import etag_of
from store_support import publish_folder

STATIC = Path(static_files.__file__).parent / "static"


def installed(tmp_path: Path, name: str, mtime: float) -> Flask:
    """An app whose static folder is a copy of ours with every file modified at ``mtime`` (another install)."""
    folder = tmp_path / name
    shutil.copytree(STATIC, folder)
    for path in folder.iterdir():
        os.utime(path, (mtime, mtime))
    app = Flask(__name__, static_folder=str(folder), static_url_path="/static")
    static_files.install(app)
    return app


def test_two_installs_give_the_same_bytes_the_same_etag_and_no_last_modified(tmp_path: Path) -> None:
    one, other = installed(tmp_path, "one", 1_000_000_000), installed(tmp_path, "other", 1_700_000_000)
    for name in ("site.css", "query.js"):
        first, second = one.test_client().get(f"/static/{name}"), other.test_client().get(f"/static/{name}")
        assert first.status_code == second.status_code == 200
        assert first.headers["ETag"] == second.headers["ETag"] == etag_of((STATIC / name).read_bytes())
        assert "Last-Modified" not in first.headers and first.data == (STATIC / name).read_bytes()
    assert one.test_client().get("/static/site.css").headers["Content-Type"] == "text/css; charset=utf-8"


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


def test_a_client_holding_the_file_gets_304_with_its_etag(client) -> None:
    etag = client.get("/static/site.css").headers["ETag"]
    again = client.get("/static/site.css", headers={"If-None-Match": f'"other", W/{etag}'})
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.data == b""
    assert client.get("/static/site.css", headers={"If-None-Match": '"other"'}).status_code == 200


@pytest.mark.parametrize("path", ["/static/nope.js", "/static/../app.py", "/static/%2e%2e/app.py",
                                  "/static/..%2fconfig.py", "/static/", "/static//etc/passwd"])
def test_only_the_files_read_at_start_up_are_served(client, path: str) -> None:
    answer = client.get(path, headers={"Accept": "text/plain"})
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/plain")
    assert b"import" not in answer.data and b"root:" not in answer.data


def test_a_site_from_an_engine_serves_them_alike(oxigraph, client) -> None:
    graph = "https://example.org/ckg-static-files/current"
    publish_folder(oxigraph, Path(CATALOG_DIR), graph)
    store = create_app(ServiceConfig.from_env(store=oxigraph.query, store_graph=graph)).test_client()
    for name in ("site.css", "query.js"):
        want, got = client.get(f"/static/{name}"), store.get(f"/static/{name}")
        assert (got.status_code, got.headers["ETag"], got.data) == (200, want.headers["ETag"], want.data)
