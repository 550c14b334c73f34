"""/downloads/: the release files with their manifest's types, sizes and checksums."""
from __future__ import annotations

import hashlib
import json
import os
import time

import pytest

from conftest import ROOT

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


def _age(folder, seconds: float) -> None:
    """Every file of ``folder`` as if written ``seconds`` ago (another replica, or a restart, wrote it then)."""
    then = time.time() - seconds
    for path in folder.rglob("*"):
        os.utime(path, (then, then))


@pytest.mark.parametrize("path", ["/downloads/catalogue.ttl", "/downloads/manifest.json",
                                  "/release/1.0.0/catalogue.ttl", "/release/1.0.0/manifest.json"])
def test_a_files_validators_depend_on_its_bytes_only(client, tmp_path, path):
    """No Last-Modified, and the same ETag however old the file is on this replica; a date alone never gets 304."""
    first = client.get(path)
    assert first.status_code == 200 and "Last-Modified" not in first.headers and first.headers["ETag"]
    _age(client.application.extensions["ckg"].downloads.get().folder, 3600)
    again = client.get(path)
    assert (again.headers["ETag"], again.data) == (first.headers["ETag"], first.data) and "Last-Modified" not in again.headers
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    assert client.get(path, headers={"If-Modified-Since": future}).status_code == 200
    assert client.get(path, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_a_range_of_a_file_is_sent_and_checked_against_its_etag(client):
    whole = client.get("/downloads/catalogue.nt")
    part = client.get("/downloads/catalogue.nt", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == whole.data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(whole.data)}"
    same = client.get("/downloads/catalogue.nt", headers={"Range": "bytes=0-9", "If-Range": whole.headers["ETag"]})
    changed = client.get("/downloads/catalogue.nt", headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert (same.status_code, changed.status_code, len(changed.data)) == (206, 200, len(whole.data))


@pytest.mark.parametrize("header", ["items=0-5", "bytes=0-1,4-5", "bytes=abc", "bytes=5-2", "bytes", "bytes=-"])
def test_a_range_we_do_not_serve_is_ignored_not_refused(client, header):
    """RFC 9110 14.2: a range unit the server does not understand MUST be ignored; an invalid ranges-specifier
    MAY be; and several ranges (we send no multipart/byteranges) are a request the whole answers. 416 is only
    for a range that lies past the end."""
    whole = client.get("/downloads/catalogue.nt")
    answer = client.get("/downloads/catalogue.nt", headers={"Range": header})
    assert (answer.status_code, answer.data, answer.headers.get("Content-Range")) == (200, whole.data, None)
    past = client.get("/downloads/catalogue.nt", headers={"Range": f"bytes={len(whole.data)}-"})
    assert (past.status_code, past.headers["Content-Range"]) == (416, f"bytes */{len(whole.data)}")


def test_a_case_package_is_tagged_by_its_bytes_too(client):
    documents = client.get("/ims/case/v1p1/CFDocuments").json["CFDocuments"]
    path = f"/ims/case/v1p1/CFPackages/{documents[0]['identifier']}"
    package = client.get(path)
    assert package.status_code == 200 and "Last-Modified" not in package.headers
    assert package.headers["ETag"] == '"' + hashlib.sha256(package.data).hexdigest()[:32] + '"'
    assert client.get(path, headers={"If-None-Match": package.headers["ETag"]}).status_code == 304
