"""Where a site served from an engine keeps its child-written files (service.site_files), tried as replicas of a
deployment would: replicas and restarts following one published graph share one folder and one write; replicas
following different graphs (for a moment during a publish) never write into each other's files; a graph loaded
by other tools gets a folder of the site alone; old publishes' folders are removed, another catalogue's are not."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from catalog import CATALOG_DIR
from service import site_files
from service.app import create_app
from service.config import ServiceConfig
from service.site_files import SITE_FILE, SiteFiles
from store_support import publish_folder, until_written

BASE = "https://w3id.org/competency-kg/"
STORE = "http://127.0.0.1:1/query"


def files(folder: Path | None, graph: str = "urn:uuid:1", *, published: bool = True, base: str = BASE) -> SiteFiles:
    return SiteFiles(str(folder) if folder else None, STORE, graph, base, 10.0, published=published)


def test_replicas_of_one_published_graph_share_one_folder_and_token(tmp_path: Path) -> None:
    first, second = files(tmp_path), files(tmp_path)
    assert first.root == second.root and first.token == second.token and first.root.parent == tmp_path
    assert first.root.name.startswith("graph-") and json.loads((first.root / SITE_FILE).read_text())["graph"] == "urn:uuid:1"
    for write in (first.site(), first.case(), first.changes(), first.release("1.0.0")):
        assert write.folder.is_relative_to(first.root) and write.token == first.token
    first.close()
    assert first.root.exists()  # the other replicas still serve it


def test_replicas_following_different_graphs_never_share_a_folder(tmp_path: Path) -> None:
    old, new = files(tmp_path, "urn:uuid:1"), files(tmp_path, "urn:uuid:2")
    assert old.root != new.root and old.token != new.token
    assert {old.site().folder, old.case().folder}.isdisjoint({new.site().folder, new.case().folder})


def test_a_graph_not_published_gets_a_folder_of_the_site_alone_removed_with_it(tmp_path: Path) -> None:
    """Other tools may change a graph's content under the same IRI: no site may take another's files."""
    first, second = files(tmp_path, published=False), files(tmp_path, published=False)
    assert first.root != second.root and first.root.name.startswith("site-") and first.token != second.token
    first.root.mkdir()
    first.close()
    assert not first.root.exists()


def test_without_a_downloads_folder_each_site_has_a_private_one(tmp_path: Path) -> None:
    first, second = files(None), files(None)
    assert first.root != second.root and first.root.parent == second.root.parent
    first.root.mkdir()
    first.close()
    assert not first.root.exists()


def _aged(folder: Path, base: str, days: float) -> Path:
    folder.mkdir()
    (folder / SITE_FILE).write_text(json.dumps({"base": base, "graph": "urn:uuid:x"}))
    (folder / "release").mkdir()
    return _age(folder, days)


def _age(folder: Path, days: float) -> Path:
    """``folder`` and what it holds as if last written ``days`` ago."""
    then = time.time() - days * 86_400
    for path in (*folder.iterdir(), folder):
        os.utime(path, (then, then))
    return folder


def test_old_publishes_of_this_catalogue_are_removed_others_stay(tmp_path: Path, monkeypatch) -> None:
    stale = _aged(tmp_path / "graph-aaaa", BASE, 2)
    recent = _aged(tmp_path / "graph-bbbb", BASE, 0.5)
    other_catalogue = _aged(tmp_path / "graph-cccc", "https://example.org/other/", 30)
    unknown = tmp_path / "graph-dddd"
    unknown.mkdir()
    os.utime(unknown, (0, 0))
    not_ours = _aged(tmp_path / "release", BASE, 30)
    current = files(tmp_path, "urn:uuid:9")
    assert not stale.exists()
    assert recent.exists() and other_catalogue.exists() and unknown.exists() and not_ours.exists()
    assert current.root.exists()
    monkeypatch.setattr(site_files, "STALE_AFTER", 0.0)  # the next publish's site, once this one is old enough
    time.sleep(0.01)
    following = files(tmp_path, "urn:uuid:10")
    assert not current.root.exists() and following.root.exists() and other_catalogue.exists()


def test_a_second_replica_serves_the_files_the_first_one_wrote(oxigraph, tmp_path: Path) -> None:
    """Two replicas (apps) following the same published graph with one CKG_DOWNLOADS_DIR: one child writes."""
    graph = "https://example.org/ckg-site-files/current"
    publish_folder(oxigraph, Path(CATALOG_DIR), graph)
    config = ServiceConfig.from_env(store=oxigraph.query, store_graph=graph, downloads_dir=str(tmp_path))
    first, second = create_app(config), create_app(config)
    answer = until_written(first.test_client(), "/downloads/catalogue.ttl")
    assert answer.status_code == 200
    second.extensions["ckg"].files.site().command = ["false"]  # a second write would fail: 502
    again = second.test_client().get("/downloads/catalogue.ttl")
    assert (again.status_code, again.data, again.headers["ETag"]) == (200, answer.data, answer.headers["ETag"])
    assert [p.name for p in tmp_path.iterdir()] == [first.extensions["ckg"].files.root.name]


def test_a_folder_in_use_is_not_removed_by_the_next_publish(tmp_path: Path, monkeypatch) -> None:
    """A graph published two days ago, still served: the next publish's site must not take its files away
    from the replicas that have not followed yet (they follow within seconds, and may be cut off longer)."""
    in_use = files(tmp_path, "urn:uuid:1")
    _age(in_use.root, 2)
    monkeypatch.setattr(site_files, "TOUCH_EVERY", 0.0)
    in_use.site()  # a request for its files says the folder is in use
    files(tmp_path, "urn:uuid:2")
    assert in_use.root.exists()
    _age(in_use.root, 2)  # and once nobody asked for a day, it goes
    files(tmp_path, "urn:uuid:3")
    assert not in_use.root.exists()


def test_a_folder_removed_under_a_replica_is_written_again(oxigraph, tmp_path: Path) -> None:
    """The graph's folder went (removed as unused by another replica, or by hand): the next requests are
    answered 503 while the files are written again, then from the new files; never a 404 or a 500."""
    graph = "https://example.org/ckg-site-files/removed"
    publish_folder(oxigraph, Path(CATALOG_DIR), graph)
    app = create_app(ServiceConfig.from_env(store=oxigraph.query, store_graph=graph, downloads_dir=str(tmp_path)))
    client = app.test_client()
    paths = ("/downloads/catalogue.ttl", "/ims/case/v1p1/CFDocuments")
    before = [until_written(client, path) for path in paths]
    assert [answer.status_code for answer in before] == [200, 200]
    site = app.extensions["ckg"]
    root = site.files.root
    shutil.rmtree(root)
    after = [until_written(client, path) for path in paths]
    assert [(answer.status_code, answer.data) for answer in after] == [(200, answer.data) for answer in before]
    assert json.loads((root / SITE_FILE).read_text())["graph"] == site.reading.graph  # so it can be judged unused again


def _no_more_children(app) -> None:
    """Any further child of this site fails at once (a 502 would say so)."""
    files = app.extensions["ckg"].files
    for write in (files.site(), files.case()):
        write.command = ["false"]


@pytest.mark.parametrize("first, then", [("/downloads/catalogue.ttl", "/ims/case/v1p1/CFDocuments"),
                                         ("/ims/case/v1p1/CFDocuments", "/downloads/catalogue.nt")])
def test_one_full_read_writes_both_the_release_files_and_the_case_packages(oxigraph, tmp_path: Path, first: str,
                                                                          then: str) -> None:
    """Each needs the whole graph: whichever is asked for first, the child that writes it writes the other too."""
    graph = "https://example.org/ckg-site-files/whole"
    publish_folder(oxigraph, Path(CATALOG_DIR), graph)
    app = create_app(ServiceConfig.from_env(store=oxigraph.query, store_graph=graph, downloads_dir=str(tmp_path)))
    client = app.test_client()
    assert until_written(client, first).status_code == 200
    files = app.extensions["ckg"].files
    for _ in range(600):  # the other part comes right after, from the same child
        if all(write.marker.exists() for write in (files.site(), files.case())):
            break
        time.sleep(0.05)
    _no_more_children(app)
    assert client.get(then).status_code == 200
