"""Communications in Debian's chromium: an ACD agent logs in, sends a communication with a
PDF to Guichet SARL (refused first without its subject); Léa's certified space shows
"Communications (1)" and Non lu, she opens it and downloads the PDF, and the agent sees
"Lu le … par Léa Guichet". Then the same without JavaScript, and the tables at 390 px; axe
finds nothing on any of the pages."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import Communication, CommunicationRead
from services import catalogue

PHONE = {"width": 390, "height": 844}


def agent_log_in(page, url):
    page.goto(url + "/back-office/communications")
    expect(page).to_have_url(re.compile(r"/back-office/connexion$"))
    page.get_by_label("Identifiant d'agent").fill("agent.acd")
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    expect(
        page.get_by_role("heading", name=re.compile("^Demandes de certification"), level=1)
    ).to_be_visible()


def fits_a_phone(page):
    page.set_viewport_size(PHONE)
    fits = page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 720})
    return fits


def world():
    catalogue.load()
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    factories.holder_certification(space)
    factories.agent("ACD", "agent.acd")
    return space


def test_send_read_and_see_the_receipt(
    app, live_server, clock, page, console_errors, log_in, other_page, tmp_path
):
    space = world()
    document = tmp_path / "avis-imposition.pdf"
    document.write_bytes(factories.PDF)
    agent_log_in(page, live_server.url)
    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Communications").click()
    expect(page.get_by_role("heading", name="Communications envoyées · ACD", level=1)).to_be_visible()
    expect(page.get_by_text("Aucune communication envoyée pour le moment.")).to_be_visible()
    page.get_by_role("link", name="Envoyer une communication").click()
    expect(page.get_by_role("heading", name="Envoyer une communication", level=1)).to_be_visible()
    assert Axe().run(page).violations_count == 0

    page.get_by_label("Numéro RCS ou SIREN de l'entreprise").fill("B123456")
    page.get_by_label("Texte").fill("Votre avis d'imposition 2025 est disponible.\n\nCordialement.")
    page.get_by_label("Documents PDF (facultatif)").set_input_files(str(document))
    page.get_by_role("button", name="Envoyer la communication").click()
    expect(page.locator("#subject-error")).to_have_text("Saisissez l'objet de la communication.")
    assert Communication.select().count() == 0
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Objet").fill("Avis d'imposition 2025")
    page.get_by_label("Documents PDF (facultatif)").set_input_files(str(document))  # chosen again
    page.get_by_role("button", name="Envoyer la communication").click()
    expect(page.get_by_role("heading", name="Avis d'imposition 2025", level=1)).to_be_visible()
    expect(page.locator("#flashes")).to_contain_text(
        "Communication envoyée : elle atteint aujourd'hui 1 espace."
    )
    receipts = page.locator("#receipts")
    expect(receipts.get_by_role("row", name=re.compile("Guichet"))).to_contain_text("Non lu")
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)

    person, person_errors = other_page(accept_downloads=True)
    person.goto(live_server.url + "/connexion")
    log_in(person)
    expect(person.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    person.goto(f"{live_server.url}/espaces/{space.id}")
    tab = person.get_by_role("navigation", name="Sections de l'espace").get_by_role(
        "link", name="Communications (1)"
    )
    expect(tab).to_be_visible()
    tab.click()
    row = person.locator("#space-tab table").get_by_role("row", name=re.compile("Avis d'imposition 2025"))
    expect(row).to_contain_text("Non lu")
    assert Axe().run(person).violations_count == 0
    assert fits_a_phone(person)
    row.get_by_role("link", name="Avis d'imposition 2025").click()
    expect(person.get_by_role("heading", name="Avis d'imposition 2025", level=2)).to_be_visible()
    expect(person.locator("#communication")).to_contain_text("Votre avis d'imposition 2025 est disponible.")
    expect(person.locator("#communication")).to_contain_text("Lu le 25/03/2026 08:40 par Léa Guichet")
    expect(
        person.get_by_role("navigation", name="Sections de l'espace").get_by_role(
            "link", name="Communications", exact=True
        )
    ).to_have_attribute("aria-current", "page")
    assert Axe().run(person).violations_count == 0
    with person.expect_download() as download:
        person.get_by_role("link", name="avis-imposition.pdf").click()
    assert download.value.suggested_filename == "avis-imposition.pdf"
    assert open(download.value.path(), "rb").read() == factories.PDF
    assert CommunicationRead.select().count() == 1

    page.reload()
    expect(receipts.get_by_role("row", name=re.compile("Guichet"))).to_contain_text(
        "Lu le 25/03/2026 08:40 par Léa Guichet"
    )
    page.get_by_role("link", name="Retour aux communications envoyées").click()
    expect(page.locator("#communications")).to_contain_text("Lue dans 1 espace sur 1")
    assert fits_a_phone(page)
    assert console_errors.unexpected() == [] and person_errors.unexpected() == []


def test_without_javascript(app, live_server, clock, other_page, log_in):
    """The form is a real multipart POST, the tab and the communication plain pages."""
    space = world()
    page, _errors = other_page(java_script_enabled=False)
    agent_log_in(page, live_server.url)
    page.goto(live_server.url + "/back-office/communications/nouvelle")
    page.get_by_label("Les entreprises certifiées pour un service").check()
    page.get_by_label("Service", exact=True).select_option(label="Fiches de retenue d'impôt")
    page.get_by_label("Objet").fill("Nouveau barème")
    page.get_by_label("Texte").fill("Le barème 2026 est publié.")
    page.get_by_role("button", name="Envoyer la communication").click()
    expect(page.get_by_role("heading", name="Nouveau barème", level=1)).to_be_visible()
    expect(page.locator("#communication")).to_contain_text(
        "Entreprises certifiées pour « Fiches de retenue d'impôt »"
    )

    person, _person_errors = other_page(java_script_enabled=False)
    person.goto(live_server.url + "/connexion")
    log_in(person)
    expect(person.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    person.goto(f"{live_server.url}/espaces/{space.id}/communications")
    person.get_by_role("link", name="Nouveau barème").click()
    expect(person).to_have_url(re.compile(rf"/espaces/{space.id}/communications/\d+$"))
    expect(person.locator("#communication")).to_contain_text("Le barème 2026 est publié.")
    expect(person.get_by_role("link", name="Communications", exact=True)).to_be_visible()
    page.reload()
    expect(page.locator("#receipts")).to_contain_text("par Léa Guichet")
