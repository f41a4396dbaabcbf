"""Mes démarches in Debian's chromium: a space certified for the ACD starts the fiches de
retenue, finds its company prefilled, adds two employees, saves the draft, leaves and comes
back to find everything; with htmx swapping each step in place, and the same without
JavaScript by full page posts. axe finds nothing, the console stays clean."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories

TITLE = "Fiches de retenue d'impôt : demande de fiches"
EMPLOYEES = [
    ("1983081974925", "Muller", "Anne", "2026-01-05"),
    ("1990051212318", "Weber", "Paul", "2026-02-01"),
]


def certified_space(app):
    factories.demo_procedures()
    lea = factories.user()
    space = factories.space(lea, name="Guichet Luxembourg")
    factories.holder_certification(space)
    return space


def enter(page, base, log_in):
    page.goto(base + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()


def fill_row(page, index, row):
    for name, value in zip(("matricule", "last_name", "first_name", "entry_date"), row, strict=True):
        page.locator(f"#employees-{index}-{name}").fill(value)


def start_and_fill(page, base, space):
    """From the space's home: Commencer, the prefilled company step, then two employees."""
    page.goto(f"{base}/espaces/{space.id}")
    expect(page.get_by_text("Certification requise")).to_have_count(2)  # ITM and ALVA
    page.get_by_role("button", name=f"Commencer {TITLE}").click()
    expect(page.get_by_role("heading", name="Étape 1 sur 4 : Votre entreprise")).to_be_visible()
    expect(page.locator("#company_name")).to_have_value("Guichet SARL")
    expect(page.locator("label[for=company_name] .prefilled")).to_have_text("pré-rempli")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_role("heading", name="Étape 2 sur 4 : Vos salariés")).to_be_visible()
    fill_row(page, 0, ("1983081974926", *EMPLOYEES[0][1:]))  # a check digit wrong
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#employees-0-matricule-error")).to_have_text(
        "Le matricule est invalide (chiffres de contrôle)."
    )
    expect(page.locator(".error-summary")).to_contain_text("Ligne 1, Matricule")
    fill_row(page, 0, EMPLOYEES[0])
    page.get_by_role("button", name="Ajouter une ligne").click()
    expect(page.locator("#employees-1-matricule")).to_be_visible()
    expect(page.locator("#employees-0-last_name")).to_have_value("Muller")  # kept
    fill_row(page, 1, EMPLOYEES[1])
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Le brouillon est enregistré.")).to_be_visible()


def resume_and_check(page, base, space):
    """Leave for the home page, come back by Mes démarches: the draft is where it was left."""
    page.goto(f"{base}/")
    page.goto(f"{base}/espaces/{space.id}")
    dossiers = page.get_by_role("region", name="Mes dossiers")
    expect(dossiers).to_contain_text("Brouillon")
    dossiers.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name="Étape 2 sur 4 : Vos salariés")).to_be_visible()
    for index, row in enumerate(EMPLOYEES):
        expect(page.locator(f"#employees-{index}-matricule")).to_have_value(row[0])
        expect(page.locator(f"#employees-{index}-entry_date")).to_have_value(row[3])
    page.get_by_role("button", name="Précédent").click()
    expect(page.locator("#company_name")).to_have_value("Guichet SARL")


def test_start_prefill_two_employees_draft_and_resume(app, live_server, clock, page, console_errors, log_in):
    space = certified_space(app)
    enter(page, live_server.url, log_in)
    page.goto(f"{live_server.url}/espaces/{space.id}")
    assert Axe().run(page).violations_count == 0
    start_and_fill(page, live_server.url, space)
    assert Axe().run(page).violations_count == 0
    resume_and_check(page, live_server.url, space)
    assert Axe().run(page).violations_count == 0
    assert console_errors.unexpected() == []


def test_swaps_in_place_with_htmx(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page
):
    space = certified_space(app)
    enter(page, live_server.url, log_in)
    page.goto(f"{live_server.url}/espaces/{space.id}")
    page.get_by_role("button", name=f"Commencer {TITLE}").click()
    expect(page.get_by_role("heading", name=re.compile("Étape 1 sur 4"))).to_be_visible()
    mark_page()
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_role("heading", name="Étape 2 sur 4 : Vos salariés")).to_be_visible()
    assert page.url.endswith("/etapes/2")  # the URL follows the step
    fill_row(page, 0, EMPLOYEES[0])
    page.get_by_role("button", name="Ajouter une ligne").click()
    expect(page.locator("#employees-1-matricule")).to_be_focused()  # typing goes on in the new row
    page.get_by_role("button", name="Supprimer la ligne 1").click()
    expect(page.locator("#employees-1-matricule")).to_have_count(0)
    expect(page.locator("#employees-0-matricule")).to_have_value("")  # the added row is left
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Le brouillon est enregistré.")).to_be_visible()
    assert still_same_page(), "a step was a full page load, not an htmx swap"
    assert console_errors.unexpected() == []


def test_the_same_without_javascript(app, live_server, clock, other_page, log_in):
    space = certified_space(app)
    page, errors = other_page(java_script_enabled=False)
    enter(page, live_server.url, log_in)
    start_and_fill(page, live_server.url, space)
    resume_and_check(page, live_server.url, space)
    assert errors.unexpected() == []
