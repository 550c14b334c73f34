"""Open Badges 3.0 alignments for every competency and competency level: JSON endpoint and page block."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import yaml

from catalog import CATALOG_DIR
from catalogue_fixtures import FIXTURES, assemble
from service import create_app
from service.config import ServiceConfig

BASE = yaml.safe_load((Path(CATALOG_DIR) / "catalog.yaml").read_text(encoding="utf-8"))["base"]
CATALOG = yaml.safe_load((Path(CATALOG_DIR) / "catalog.yaml").read_text(encoding="utf-8"))
SEED = yaml.safe_load((Path(CATALOG_DIR) / "competencies" / "klantgerichtheid.yaml").read_text(encoding="utf-8"))
OB_TARGET_TYPES = {"ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
                   "CFRubricCriterionLevel", "CTDL"}
"""OB 3.0 AlignmentTargetType (ext:… names are allowed too)."""
OB_FIELDS = {"type", "targetCode", "targetDescription", "targetName", "targetFramework", "targetType", "targetUrl"}
PATHS = ["competency/klantgerichtheid"] + [f"competency/klantgerichtheid/level/{n}" for n in range(1, 6)]


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("path", PATHS)
def test_each_alignment_is_an_ob3_alignment_pointing_at_our_iri(client, path, language):
    response = client.get(f"/{path}/alignment?lang={language}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    alignment = response.json
    assert set(alignment) <= OB_FIELDS and "Alignment" in alignment["type"]
    assert alignment["targetUrl"] == BASE + path
    assert client.get("/" + path, headers={"Accept": "application/ld+json"}).status_code == 200
    assert alignment["targetType"] in OB_TARGET_TYPES
    assert alignment["targetFramework"] == CATALOG["title"][language]
    item = client.get(f"/ims/case/v1p1/CFItems/{alignment['targetCode']}").json
    assert item["extensions"]["linkedDataIRI"] == alignment["targetUrl"] and item["language"] == language
    if "/level/" in path:
        rank = int(path.rpartition("/")[2])
        [level] = [lv for lv in SEED["levels"] if lv["level"] == rank]
        assert alignment["targetDescription"] == "\n".join(f"- {c[language]}" for c in level["criteria"])
        assert alignment["targetName"].startswith(SEED["name"][language])
    else:
        assert alignment["targetName"] == SEED["name"][language]


def test_the_alignment_route_hides_no_resource(tmp_path):
    """A competency whose slug is "alignment" still answers at its IRI; its alignment is one level down."""
    catalogue = assemble(tmp_path / "catalogue", FIXTURES / "valid-mini")
    text = (catalogue / "competencies" / "luisteren.yaml").read_text(encoding="utf-8")
    (catalogue / "competencies" / "luisteren.yaml").write_text(text.replace("slug: luisteren", "slug: alignment"), encoding="utf-8")
    client = create_app(ServiceConfig(catalog_dir=str(catalogue))).test_client()
    resource = client.get("/competency/alignment", headers={"Accept": "application/ld+json"})
    assert resource.status_code == 200 and resource.json["id"].endswith("/competency/alignment")
    assert client.get("/competency/alignment/alignment").json["targetName"] == "Luisteren"
    assert client.get("/level/1/alignment").status_code == 404


@pytest.mark.parametrize("path, status", [
    ("/competency/klantgerichtheid/level/3/criterion/1/alignment", 404),
    ("/competency/onbekend/alignment", 404), ("/competency/klantgerichtheid/alignment?lang=fr", 400),
    ("/competency/klantgerichtheid/alignment?format=xml", 400),
])
def test_refusals_say_what_to_do(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert "alignment" in response.json["error"] or "?lang=" in response.json["error"]


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("path", PATHS)
def test_the_page_shows_the_same_alignment_as_a_copyable_block(client, path, language):
    page = client.get(f"/{path}?lang={language}", headers={"Accept": "text/html"}).get_data(as_text=True)
    block = re.search(r'<pre class="alignment-json"[^>]*><code>(.*?)</code></pre>', page, re.S)
    assert block, "no alignment block on the page"
    assert json.loads(html.unescape(block.group(1))) == client.get(f"/{path}/alignment?lang={language}").json


@pytest.mark.parametrize("path", PATHS)
def test_the_html_suffix_twin_shows_the_same_block(path):
    """``{IRI}.html`` is the same page as ``{IRI}`` asked for HTML (one render cache entry serves both), so
    the block must not depend on which was asked first: the twin is asked first, on a fresh site."""
    client = create_app().test_client()
    twin = client.get(f"/{path}.html").get_data(as_text=True)
    negotiated = client.get(f"/{path}", headers={"Accept": "text/html"}, query_string={"lang": "en"}).get_data(as_text=True)
    block = re.compile(r'<section class="alignment">.*?</section>', re.S)
    assert block.search(twin), "no alignment block on the .html page"
    assert f'href="/{path}/alignment?lang=nl"' in twin
    assert f'href="/{path}/alignment?lang=en"' in block.search(negotiated).group(0)
