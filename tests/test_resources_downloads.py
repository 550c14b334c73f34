"""/downloads/: the release files with their manifest's types, sizes and checksums."""
from __future__ import annotations

import hashlib
import json

import pytest

from service import create_app
from service.config import ServiceConfig


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("downloads") / "release"
    return create_app(ServiceConfig(downloads_dir=str(folder))).test_client()


def test_index_lists_files_with_sizes_and_checksums(client):
    manifest = json.loads(client.get("/downloads/", headers={"Accept": "application/json"}).data)
    names = {f["name"] for f in manifest["files"]}
    assert names >= {"catalogue.ttl", "catalogue.nt", "catalogue.rdf", "catalogue.jsonld", "catalogue.csv"}
    html = client.get("/downloads/", headers={"Accept": "text/html"}).get_data(as_text=True)
    for entry in manifest["files"]:
        assert entry["sha256"] in html and f'href="/downloads/{entry["name"]}"' in html


@pytest.mark.parametrize("name, media_type", [
    ("catalogue.ttl", "text/turtle"), ("catalogue.nt", "application/n-triples"),
    ("catalogue.rdf", "application/rdf+xml"), ("catalogue.jsonld", "application/ld+json"), ("catalogue.csv", "text/csv"),
])
def test_each_file_is_served_as_itself(client, name, media_type):
    manifest = json.loads(client.get("/downloads/manifest.json").data)
    entry = next(f for f in manifest["files"] if f["name"] == name)
    response = client.get(f"/downloads/{name}")
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert len(response.data) == entry["bytes"]
    assert hashlib.sha256(response.data).hexdigest() == entry["sha256"]
    assert response.headers["ETag"] == f'"{entry["sha256"]}"'
    again = client.get(f"/downloads/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_unknown_file_is_a_404_naming_the_files(client):
    response = client.get("/downloads/catalogue.xlsx")
    assert response.status_code == 404
    assert "catalogue.ttl" in response.get_data(as_text=True)


def test_a_shared_folder_is_reused_not_rewritten(tmp_path):
    folder = tmp_path / "release"
    first = create_app(ServiceConfig(downloads_dir=str(folder))).test_client()
    first.get("/downloads/")
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    second = create_app(ServiceConfig(downloads_dir=str(folder))).test_client()
    assert second.get("/downloads/catalogue.ttl").status_code == 200
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp
