"""Mes données professionnelles in Debian's chromium: add an IBAN (a wrong one first), modify
it, delete it after the question, every step swapped in place by htmx; axe finds nothing."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories


def test_add_modify_delete_an_iban(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page
):
    lea = factories.user()
    space = factories.space(lea, name="Guichet Luxembourg")
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/espaces/{space.id}/donnees")
    expect(page.get_by_text("Données de l'entreprise").first).to_be_visible()  # the company record
    mark_page()

    page.get_by_label("Information").select_option("bank.iban")
    page.get_by_label("Valeur").fill("LU28 0019 4006 4475 0001")
    page.get_by_role("button", name="Ajouter").click()
    expect(page.locator("#value-error")).to_have_text("IBAN invalide.")
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Information").select_option("bank.iban")
    page.get_by_label("Valeur").fill("LU28 0019 4006 4475 0000")
    page.get_by_role("button", name="Ajouter").click()
    expect(page.get_by_text("Information enregistrée : IBAN.")).to_be_visible()
    bank = page.locator("#data-bank")
    expect(bank).to_contain_text("LU28 0019 4006 4475 0000")

    bank.get_by_role("link", name="Modifier IBAN").click()
    page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    assert Axe().run(page).violations_count == 0
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Information modifiée : IBAN.")).to_be_visible()
    expect(bank).to_contain_text("DE89 3704 0044 0532 0130 00")

    bank.get_by_role("link", name="Supprimer IBAN").click()
    question = page.get_by_role("group", name="Supprimer IBAN (DE89 3704 0044 0532 0130 00) ?")
    expect(question).to_be_visible()
    expect(bank).to_contain_text("DE89")  # nothing done yet
    assert Axe().run(page).violations_count == 0
    question.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Information supprimée : IBAN.")).to_be_visible()
    expect(page.locator("#data-bank")).to_have_count(0)
    assert still_same_page(), "a step was a full page load, not an htmx swap"
    assert console_errors.unexpected() == []
