"""Dossiers in the back-office, in Debian's chromium: an ACD agent logs in (password, then
the one-time code), finds a transmitted dossier in the queue by searching, takes it, asks
for a complement (refused first without its message), every decision swapped in place by
htmx; axe finds nothing on the queue nor on the dossier's page."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import Dossier, DossierMessage


def test_an_agent_takes_a_dossier_and_asks_for_a_complement(
    app, live_server, clock, page, console_errors, mark_page, still_same_page
):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    procedure = factories.procedure()
    long_title = "Déclaration rectificative des retenues d'impôt sur les rémunérations"
    factories.procedure("acd-long", definition={"title": long_title})
    factories.transmitted_dossier(space, procedure, 1, status="accepted")
    clock.advance(minutes=1)
    filed = factories.transmitted_dossier(space, procedure, 2, created_by=lea)
    factories.agent("ACD", "agent.acd")

    page.goto(live_server.url + "/back-office/dossiers")
    expect(page).to_have_url(re.compile(r"/back-office/connexion$"))
    page.get_by_label("Identifiant d'agent").fill("agent.acd")
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    requests = page.get_by_role("heading", name=re.compile("^Demandes de certification"), level=1)
    expect(requests).to_be_visible()

    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Dossiers").click()
    expect(page.get_by_role("heading", name="Dossiers · ACD", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Dossiers", exact=True)).to_have_attribute("aria-current", "page")
    queue = page.locator("#dossiers")
    expect(queue).to_contain_text("2 dossiers")
    assert Axe().run(page).violations_count == 0
    page.set_viewport_size({"width": 390, "height": 844})  # the filters wrap on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})
    mark_page()
    page.get_by_label("Statut").select_option("submitted")  # filters in place
    expect(queue).to_contain_text("1 dossier")
    expect(queue).not_to_contain_text("ACD-2026-000001")
    expect(page).to_have_url(re.compile(r"status=submitted"))
    page.get_by_label("Rechercher par référence ou entreprise").fill("000002")
    expect(page).to_have_url(re.compile(r"q=000002"))
    assert still_same_page(), "the filters reloaded the page"
    queue.get_by_role("link", name="ACD-2026-000002").click()

    expect(page.get_by_role("heading", name="Dossier ACD-2026-000002", level=1)).to_be_visible()
    expect(page.locator("#dossier-status")).to_have_text("Transmis")
    expect(page.get_by_role("button", name="Accepter")).to_have_count(0)  # not taken yet
    assert Axe().run(page).violations_count == 0
    mark_page()
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.locator("#flashes")).to_contain_text("Dossier pris en charge")
    expect(page.locator("#dossier-status")).to_have_text("En cours de traitement")
    assert Dossier.get_by_id(filed.id).status == "in_progress"

    page.get_by_role("button", name="Demander un complément").click()  # without its message
    expect(page.locator("#complement-text-error")).to_contain_text("Écrivez le complément demandé")
    assert Dossier.get_by_id(filed.id).status == "in_progress"
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Message à l'entreprise").fill("Merci de joindre le procès-verbal signé.")
    page.get_by_role("button", name="Demander un complément").click()
    expect(page.locator("#flashes")).to_contain_text("Complément demandé : l'entreprise est prévenue.")
    expect(page.locator("#dossier-status")).to_have_text("Complément demandé")
    expect(page.locator("#dossier")).to_contain_text("Merci de joindre le procès-verbal signé.")
    # The company's turn: only Refuser is left, for a complement never given.
    expect(page.locator("#dossier").get_by_role("button", name="Accepter")).to_have_count(0)
    expect(page.locator("#dossier").get_by_role("button", name="Refuser")).to_have_count(1)
    assert Axe().run(page).violations_count == 0
    assert still_same_page(), "a decision was a full page load, not an htmx swap"
    assert Dossier.get_by_id(filed.id).status == "complement"
    assert [m.body for m in DossierMessage.select()] == ["Merci de joindre le procès-verbal signé."]
    assert console_errors.unexpected() == []
