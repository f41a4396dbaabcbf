"""Registre des entreprises in Debian's chromium: the helpdesk searches the demo register,
sends a SIRENE extract with a wrong line (refused, that line named, nothing imported), then
the right one (its head offices added, the counts said), swapped in place by htmx; axe finds
nothing, the table fits a phone. Then an RCS file without JavaScript."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from factories import RCS_HEADER, SIRENE_HEADER, csv_file, rcs_line, siren, sirene_line
from models import Company
from services import company_imports


def helpdesk_opens_the_register(page, url):
    page.goto(url + "/back-office")
    page.get_by_label("Identifiant d'agent").fill("helpdesk")
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    expect(page.get_by_role("heading", name="Administrations et démarches", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Back-office").get_by_role(
        "link", name="Registre des entreprises"
    ).click()
    expect(page.get_by_role("heading", name="Registre des entreprises", level=1)).to_be_visible()


def listed(page):
    return page.get_by_role("region", name="Entreprises du registre")


def fits_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    fits = page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})
    return fits


def test_the_helpdesk_imports_a_sirene_extract(
    app, live_server, clock, page, console_errors, mark_page, still_same_page, tmp_path
):
    company_imports.load_demo()
    demo = Company.select().count()
    factories.helpdesk()
    helpdesk_opens_the_register(page, live_server.url)
    expect(page.locator("#companies-count")).to_have_text(f"{demo} entreprises")
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)

    mark_page()
    page.get_by_label("Nom ou numéro (SIREN, RCS)").fill("7328 29320")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#companies-count")).to_have_text("1 entreprise")
    expect(listed(page)).to_contain_text("Fiduciaire de l'Est SAS")
    expect(listed(page)).to_contain_text("FR76 •••• 0189")

    wrong = tmp_path / "StockEtablissement-erreur.csv"
    lines = [sirene_line(1), sirene_line(2, siren="123456789"), sirene_line(3, head="false")]
    wrong.write_bytes(csv_file(lines, SIRENE_HEADER))
    page.get_by_label("Format du fichier").select_option("sirene")
    page.get_by_label("Fichier CSV").set_input_files(str(wrong))
    page.get_by_role("button", name="Vérifier et importer").click()
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("Rien n'a été importé")
    expect(errors.get_by_role("listitem")).to_have_count(1)
    expect(errors).to_contain_text("Ligne 3 : Numéro SIREN invalide")
    assert Company.select().count() == demo
    assert Axe().run(page).violations_count == 0

    right = tmp_path / "StockEtablissement.csv"
    right.write_bytes(csv_file([sirene_line(1), sirene_line(2), sirene_line(3, head="false")], SIRENE_HEADER))
    page.get_by_label("Format du fichier").select_option("sirene")
    page.get_by_label("Fichier CSV").set_input_files(str(right))
    page.get_by_role("button", name="Vérifier et importer").click()
    expect(page.locator("#flashes")).to_contain_text("ajoutées : 2, mises à jour : 0")
    expect(page.locator("#companies-count")).to_have_text(f"{demo + 2} entreprises")
    expect(listed(page)).to_contain_text("2 AVENUE DE LA GARE")
    assert {siren(1), siren(2)} <= {c.identifier for c in Company.select()}
    assert still_same_page(), "the import was a full page load, not an htmx swap"
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)
    assert console_errors.unexpected(422) == []


def test_without_javascript(app, live_server, clock, other_page, tmp_path):
    factories.helpdesk()
    page, errors = other_page(java_script_enabled=False)
    helpdesk_opens_the_register(page, live_server.url)
    expect(page.locator("#companies-count")).to_have_text("0 entreprises")
    rcs = tmp_path / "rcs.csv"
    rcs.write_bytes(csv_file([rcs_line(1), rcs_line(2)], RCS_HEADER, ";", bom=True))
    page.get_by_label("Format du fichier").select_option("rcs")
    page.get_by_label("Fichier CSV").set_input_files(str(rcs))
    page.get_by_role("button", name="Vérifier et importer").click()
    expect(page).to_have_url(re.compile(r"/back-office/helpdesk/entreprises$"))
    expect(page.locator("#flashes")).to_contain_text("ajoutées : 2")
    expect(listed(page)).to_contain_text("Entreprise 2 SA")
    assert errors.unexpected() == []
