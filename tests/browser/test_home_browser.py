"""The home page in Debian's chromium: vendored htmx, no CSP violation, active search."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories


@pytest.fixture
def catalogue(app):
    acd = factories.administration()
    itm = factories.administration(code="ITM", name="Inspection du travail et des mines")
    factories.service(acd)
    factories.service(itm, slug="elections-sociales", name="Élections sociales")


def test_home_page_with_htmx_and_no_console_error(catalogue, live_server, page, console_errors):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre espace professionnel en ligne")
    assert page.evaluate("window.htmx && window.htmx.version") == "2.0.11"

    page.get_by_label("Rechercher un service ou une administration").fill("ITM")
    expect(page.locator("#catalogue tbody tr")).to_have_count(1)
    expect(page.locator("#catalogue")).to_contain_text("Élections sociales")
    assert page.url.endswith("/?q=ITM")  # the search is bookmarkable
    assert console_errors == []


def test_search_works_without_javascript(catalogue, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("Rechercher un service ou une administration").fill("ITM")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#catalogue tbody tr")).to_have_count(1)
    context.close()


def test_home_page_is_accessible(catalogue, live_server, page):
    page.goto(live_server.url + "/")
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
