"""After htmx swaps a space's tab, a step of the space wizard or a step of a procedure, in
Debian's chromium: the focus is on the new content's heading (not lost to <body>), and the
document's title is the one the same URL has on a full load; in German as in French."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

import factories
from catalogues import compile_stale_catalogues

FOCUSED = """() => {
  const active = document.activeElement;
  return {tag: active.tagName, id: active.id, text: active.textContent.trim(),
          region: active.closest("[data-swap-focus]")?.id ?? null};
}"""


@pytest.fixture
def person(app, live_server, clock, page, log_in):
    """Léa in her certified space, with a procedure to start; logged in, in `language`."""
    compile_stale_catalogues()
    factories.demo_procedures()
    lea = factories.user()
    space = factories.space(lea, name="Guichet Luxembourg")
    factories.holder_certification(space)
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page).to_have_url(re.compile(r"/espaces$"))
    return space


def switch(page, language):
    page.locator(f'form.lang-switch button[value="{language}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def swapped(page, region_id, mark_page, still_same_page, action):
    """Runs `action` (a click that htmx answers by swapping #region_id); returns what has the
    focus then, after checking that the title is the one of a full load of the new URL."""
    before = page.title()
    mark_page()
    action()
    page.wait_for_function("title => document.title !== title", arg=before)
    expect(page.locator(f"#{region_id}")).to_be_attached()
    try:  # the focus moves once htmx has settled the new content
        page.wait_for_function("() => document.activeElement !== document.body", timeout=1000)
    except PlaywrightTimeout:
        pass  # reported below with what has the focus
    assert still_same_page(), "a full page load, not an htmx swap"
    focused, title = page.evaluate(FOCUSED), page.title()
    page.reload()
    assert page.title() == title, "the swap's title is not the page's"
    return focused


@pytest.mark.parametrize("language", ["fr", "de"])
def test_a_tab_and_a_procedure_step_take_the_focus_and_the_title(
    person, live_server, page, console_errors, mark_page, still_same_page, language
):
    page.goto(f"{live_server.url}/espaces/{person.id}")
    switch(page, language)

    tab = page.locator(f'nav.tabs a[href$="/espaces/{person.id}/donnees"]')
    focused = swapped(page, "space-tab", mark_page, still_same_page, tab.click)
    assert focused["tag"] == "H2" and focused["region"] == "space-tab", focused
    assert focused["text"] == page.locator("#space-tab h2").first.inner_text()

    page.goto(f"{live_server.url}/espaces/{person.id}")
    page.locator("#space-tab form button[type=submit]").first.click()  # Commencer
    expect(page.locator("#assistant")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/etapes/1$"))
    next_button = page.locator('#assistant button[name=action][value=next]:not([aria-hidden="true"])')
    focused = swapped(page, "assistant", mark_page, still_same_page, next_button.click)
    expect(page).to_have_url(re.compile(r"/etapes/2$"))
    assert focused["id"] == "step-title", focused
    assert "2" in page.title()
    assert console_errors.unexpected() == []


def test_the_space_wizard_step_takes_the_focus_and_the_title(
    person, live_server, page, console_errors, mark_page, still_same_page
):
    page.goto(f"{live_server.url}/espaces/nouveau")
    switch(page, "en")
    page.locator("#wizard input[type=checkbox]").check()  # the terms
    submit = page.locator("#wizard form button[type=submit]")
    focused = swapped(page, "wizard", mark_page, still_same_page, submit.click)
    assert focused["id"] == "name", focused  # the name step autofocuses its field

    page.locator("#name").fill("Guichet Esch")
    focused = swapped(page, "wizard", mark_page, still_same_page, submit.click)
    assert focused["tag"] == "H2" and focused["region"] == "wizard", focused
    assert focused["text"] == page.locator("#wizard h2").inner_text()
    assert console_errors.unexpected() == []
