"""Codes d'accès and Courriers in Debian's chromium: an ACD agent logs in (password, then the
one-time code), sends a CSV file with a wrong line (refused, that line named, nothing
issued), then the right file (three codes shown once, their CSV downloaded once), prints
the three letters as one PDF (one a page, each with its code and address) and marks them
posted, swapped in place by htmx (the codes are gone from the database); axe finds nothing,
the tables fit a phone. Then the same without JavaScript."""

import io
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from pypdf import PdfReader

import factories
from factories import codes_csv, codes_line
from models import AccessCode, Letter
from services import catalogue

CODE = re.compile(r"[2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){4}")


def agent_logs_in(page, url, userid="agent.acd"):
    page.goto(url + "/back-office/codes-d-acces")
    page.get_by_label("Identifiant d'agent").fill(userid)
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    expect(
        page.get_by_role("heading", name=re.compile("^Demandes de certification"), level=1)
    ).to_be_visible()
    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Codes d'accès").click()
    expect(page.get_by_role("heading", name="Codes d'accès · ACD", level=1)).to_be_visible()


def fits_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 844})
    fits = page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})
    return fits


def pdf_pages(path):
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(open(path, "rb").read())).pages]


def test_an_agent_issues_a_batch_prints_and_posts_its_letters(
    app, live_server, clock, page, console_errors, mark_page, still_same_page, tmp_path
):
    catalogue.load()
    factories.agent("ACD", "agent.acd", name="Anne Agent")
    agent_logs_in(page, live_server.url)
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)
    mark_page()

    wrong = tmp_path / "entreprises-erreur.csv"
    wrong.write_bytes(codes_csv([codes_line(1), codes_line(2, identifiant="Z-12"), codes_line(3)], bom=True))
    page.get_by_label("Fichier CSV").set_input_files(str(wrong))
    page.get_by_role("button", name="Vérifier et émettre les codes").click()
    errors = page.locator("#batch-errors")
    expect(errors).to_contain_text("Aucun code n'a été émis")
    expect(errors.get_by_role("listitem")).to_have_count(1)
    expect(errors).to_contain_text("Ligne 3 : ")
    assert AccessCode.select().count() == 0
    assert Axe().run(page).violations_count == 0

    right = tmp_path / "entreprises.csv"
    right.write_bytes(codes_csv([codes_line(n) for n in (1, 2, 3)], delimiter=","))
    page.get_by_label("Fichier CSV").set_input_files(str(right))
    page.get_by_role("button", name="Vérifier et émettre les codes").click()
    expect(page.get_by_role("heading", name="Lot émis : 3 codes")).to_be_visible()
    shown = CODE.findall(page.locator("#issued-codes").inner_text())
    assert len(shown) == 3 and AccessCode.select().count() == 3
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)
    link = page.get_by_role("link", name="Télécharger les codes (CSV, une seule fois)")
    with page.expect_download() as download:
        link.click()
    assert CODE.findall(open(download.value.path(), encoding="utf-8-sig").read()) == shown
    assert page.request.get(live_server.url + link.get_attribute("href")).status == 410
    assert still_same_page(), "the batch was a full page load, not an htmx swap"

    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Courriers").click()
    queue = page.locator("#letters")
    expect(queue).to_contain_text("3 courriers à poster")
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Imprimer le lot").click()  # none checked: every one to post
    pages = pdf_pages(download.value.path())
    assert len(pages) == 3
    for number, (text, code) in enumerate(zip(pages, shown, strict=True), start=1):
        assert f"Société {number}" in text and f"{number}, rue du Commerce" in text and code in text

    mark_page()
    for letter in Letter.select():
        page.get_by_label(f"Choisir le courrier n° {letter.id}").check()
    page.get_by_role("button", name="Marquer comme posté", exact=True).click()
    expect(page.locator("#flashes")).to_contain_text("3 courriers marqués comme postés")
    expect(queue).to_contain_text("0 courriers à poster")
    expect(queue.get_by_text(re.compile("^Posté le"))).to_have_count(3)
    assert still_same_page(), "Marquer comme posté was a full page load, not an htmx swap"
    assert [letter.code_encrypted for letter in Letter.select()] == [None] * 3
    assert Axe().run(page).violations_count == 0
    assert console_errors.unexpected(410) == []


def test_without_javascript(app, live_server, clock, other_page, tmp_path):
    catalogue.load()
    factories.agent("ACD", "agent.acd", name="Anne Agent")
    page, errors = other_page(java_script_enabled=False, accept_downloads=True)
    agent_logs_in(page, live_server.url)

    page.get_by_label("Numéro d'identification de l'entreprise (RCS ou SIREN)").fill("B123456")
    page.get_by_label("Nom enregistré de l'entreprise").fill("Guichet SARL")
    page.get_by_label("Adresse postale").fill("1, rue du Commerce\nL-1000 Luxembourg")
    page.get_by_label("Service").select_option("fiches-retenue")
    page.get_by_label("Durée de validité de la certification (jours)").fill("10")
    page.get_by_role("button", name="Émettre le code").click()
    expect(page.locator("#valid_days-error")).to_contain_text("plus courte que le délai d'activation")
    page.get_by_label("Durée de validité de la certification (jours)").fill("365")
    page.get_by_role("button", name="Émettre le code").click()
    code = page.locator("#issued-code").inner_text()
    assert CODE.fullmatch(code)

    page.goto(live_server.url + "/back-office/codes-d-acces")
    batch = tmp_path / "lot.csv"
    batch.write_bytes(codes_csv([codes_line(1), codes_line(2)]))
    page.get_by_label("Fichier CSV").set_input_files(str(batch))
    page.get_by_role("button", name="Vérifier et émettre les codes").click()
    expect(page.get_by_role("heading", name="Lot émis : 2 codes")).to_be_visible()

    page.goto(live_server.url + "/back-office/courriers")
    first, second, third = Letter.select().order_by(Letter.id)
    page.get_by_label(f"Choisir le courrier n° {second.id}").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Imprimer le lot").click()
    assert len(pdf_pages(download.value.path())) == 1
    page.get_by_role("button", name=f"Marquer comme posté le courrier n° {first.id}").click()
    expect(page).to_have_url(re.compile(r"/back-office/courriers$"))
    expect(page.locator("#flashes")).to_contain_text("1 courrier marqué comme posté")
    page.get_by_label(f"Choisir le courrier n° {second.id}").check()
    page.get_by_label(f"Choisir le courrier n° {third.id}").check()
    page.get_by_role("button", name="Marquer comme posté", exact=True).click()
    expect(page.locator("#flashes")).to_contain_text("2 courriers marqués comme postés")
    assert Letter.select().where(Letter.code_encrypted.is_null(False)).count() == 0
    assert errors.unexpected() == []
