"""The HTML pages in a real browser: Debian's Chromium, headless, driven by Playwright, against the real server."""
from __future__ import annotations

import os
import re

import pytest

from conftest import skip_reason

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=skip_reason(f"Chromium is not installed at {CHROMIUM} "
                                                                        "(apt-get install chromium)")),
]
sync_api = pytest.importorskip("playwright.sync_api", reason=skip_reason(
    "the playwright package is not installed (pip install -e '.[test]')"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL",
                                  extra_http_headers={"Accept-Language": "nl"})
    page = context.new_page()
    page.set_default_timeout(10_000)
    # The pages must work from this server alone: any request elsewhere fails the test.
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith(live_server) else None)
    yield page
    context.close()
    assert outside == [], f"the page fetched from elsewhere: {outside}"


def test_competency_page_shows_five_levels_of_three_criteria(page, live_server):
    page.goto(live_server + "competency/klantgerichtheid")
    assert page.locator("h1").inner_text() == "Klantgerichtheid"
    headers = page.locator("table.levels thead th")
    assert headers.count() == 5
    assert [headers.nth(i).locator("a.rank").inner_text() for i in range(5)] == [f"Niveau {n}" for n in range(1, 6)]
    for rank in range(1, 6):
        cells = page.locator(f"table.levels td.criterion[data-level='{rank}'] a")
        assert cells.count() == 3
        assert all(cells.nth(i).is_visible() and cells.nth(i).inner_text().strip() for i in range(3))
    assert page.locator("table.levels").is_visible()


def test_language_switch_changes_the_texts(page, live_server):
    page.goto(live_server + "competency/klantgerichtheid")
    first_criterion = page.locator("table.levels td.criterion[data-level='1'] a").first
    assert first_criterion.inner_text().startswith("Toont begrip")
    page.locator(".langs a[data-lang='en']").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Customer orientation"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("table.levels td.criterion[data-level='1'] a").first.inner_text().startswith("Shows understanding")
    # the choice sticks while browsing: follow a link to the level page
    page.locator("table.levels thead th a.generic").nth(2).click()
    page.wait_for_load_state()
    assert page.url.endswith("/level/3?lang=en")
    assert page.locator("h1").inner_text() == "Professional/Steering"


def test_links_lead_to_level_pages(page, live_server):
    page.goto(live_server + "competency/klantgerichtheid")
    page.locator("table.levels thead th a.rank").nth(3).click()
    page.wait_for_load_state()
    assert re.search(r"/competency/klantgerichtheid/level/4(\?|$)", page.url)
    assert page.locator("ol.criteria li").count() == 3
    page.locator(".lead a").first.click()  # the generic level
    page.wait_for_load_state()
    assert re.search(r"/level/4(\?|$)", page.url)
    assert "Klantgerichtheid" in page.locator("table.at-level").inner_text()


def test_every_page_links_its_data_twins(page, live_server):
    page.goto(live_server + "competency/klantgerichtheid")
    alternates = page.locator("head link[rel='alternate'][type]")
    types = {alternates.nth(i).get_attribute("type") for i in range(alternates.count())}
    assert {"application/ld+json", "text/turtle", "application/n-triples", "application/rdf+xml"} <= types
    page.locator(".twins a[type='text/turtle']").click()
    assert page.url.endswith("/competency/klantgerichtheid.ttl")


def test_home_lists_competencies_by_cluster(page, live_server):
    page.goto(live_server)
    cluster = page.locator("section.cluster").first
    assert "Ondernemen" in cluster.locator("h3").inner_text()
    cluster.locator("ul a", has_text="Klantgerichtheid").click()
    page.wait_for_load_state()
    assert page.url.endswith("/competency/klantgerichtheid?lang=nl")


def test_narrow_screen_stacks_the_levels(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server + "competency/klantgerichtheid")
    assert not page.locator("table.levels").is_visible()
    assert page.locator(".levels-stacked section").count() == 5
    assert page.locator(".levels-stacked section").first.locator("li").count() == 3
    context.close()


def test_query_page_runs_an_example_and_shows_a_table(page, live_server):
    probe = page.request.get(live_server + "sparql?query=ASK%7B%7D",
                             headers={"Accept": "application/sparql-results+json"})
    assert probe.status == 200, f"/sparql answered {probe.status}: the query page cannot work"
    page.goto(live_server + "query")
    page.locator("button.example").nth(2).click()  # the five behaviour levels
    rows = page.locator("#results tbody tr")
    rows.nth(4).wait_for()
    assert rows.count() == 5
    assert page.locator("#results thead th").all_inner_texts() == ["rank", "name"]
    assert "Basis/Starter" in rows.first.inner_text()
    page.locator("#query-text").fill("SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    page.locator("#run").click()
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 3")
    assert sorted(page.locator("#results thead th").all_inner_texts()) == ["o", "p", "s"]  # SELECT * fixes no order
