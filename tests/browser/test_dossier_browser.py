"""A dossier in Debian's chromium: a prepared draft is signed with a one-time code (a wrong one
first), its receipt downloads and pyHanko validates it, Vérifier un accusé de réception
confirms it and refuses a modified copy, a message with an attachment goes into the thread,
all swapped in place by htmx; axe finds nothing. Then the same without JavaScript."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from pyhanko.sign.validation import SignatureCoverageLevel

import factories
from helpers import pdf_signature_status
from models import Dossier, DossierMessage
from services import signing


def prepared(clock):
    """Léa's space, certified, with a complete draft (its data set as the assistant leaves it)."""
    lea = factories.user()
    space = factories.space(lea, name="Guichet Luxembourg")
    factories.procedure()
    factories.holder_certification(space)
    return space, factories.signable_dossier(space)


def validates(pdf):
    _signature, status = pdf_signature_status(pdf, signing.identity().certificate)
    return status.bottom_line and status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def modified(pdf):
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01
    return {"name": "accuse-modifie.pdf", "mimeType": "application/pdf", "buffer": bytes(changed)}


def test_sign_download_verify_and_write(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page
):
    space, draft = prepared(clock)
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/espaces/{space.id}/dossiers/{draft.id}")
    expect(page.get_by_text("Ce dossier est un brouillon")).to_be_visible()
    page.get_by_role("link", name="Vérifier et signer").click()
    expect(page.get_by_role("heading", name="Vérifier et signer", level=2)).to_be_visible()
    expect(page.locator("#dossier-sign")).to_contain_text("Marc Guichet")  # the summary
    assert Axe().run(page).violations_count == 0
    mark_page()

    clock.advance(seconds=30)  # the login's code signs nothing: a fresh one
    page.get_by_label("Code à 6 chiffres (OTP)").fill("000000")
    page.get_by_role("button", name="Signer et transmettre").click()
    expect(page.locator("#otp-error")).to_contain_text("Le code à 6 chiffres est incorrect")
    assert still_same_page(), "the refusal was a full page load, not an htmx swap"
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Code à 6 chiffres (OTP)").fill(factories.otp())
    page.get_by_role("button", name="Signer et transmettre").click()
    expect(page.locator("#flashes")).to_contain_text(
        "Votre dossier a été transmis. Sa référence : ACD-2026-000001."
    )
    expect(page.locator("#dossier")).to_contain_text("Transmis")
    assert Axe().run(page).violations_count == 0

    with page.expect_download() as download:
        page.get_by_role("link", name="Accusé de réception n° 1 (PDF signé)").click()
    assert download.value.suggested_filename == "accuse-de-reception-ACD-2026-000001-1.pdf"
    pdf = open(download.value.path(), "rb").read()
    assert validates(pdf)

    mark_page()
    page.get_by_label("Votre message").fill("Bonjour,\nvoici le procès-verbal signé.")
    page.get_by_label("Pièce jointe (facultative)").set_input_files(
        {"name": "pv-signe.pdf", "mimeType": "application/pdf", "buffer": factories.PDF}
    )
    page.get_by_role("button", name="Envoyer le message").click()
    thread = page.locator("#fil")
    expect(page.locator("#flashes")).to_contain_text("Votre message est envoyé à l'administration.")
    expect(thread).to_contain_text("voici le procès-verbal signé.")
    expect(thread.get_by_role("link", name="pv-signe.pdf")).to_be_visible()
    assert still_same_page(), "sending a message was a full page load, not an htmx swap"
    assert Axe().run(page).violations_count == 0

    page.get_by_role("link", name="Vérifier un accusé de réception").first.click()
    expect(page.get_by_role("heading", name="Vérifier un accusé de réception", level=1)).to_be_visible()
    mark_page()
    page.get_by_label("Accusé de réception (fichier PDF)").set_input_files(download.value.path())
    page.get_by_role("button", name="Vérifier").click()
    expect(page.locator("#verdict")).to_contain_text(
        "Cet accusé de réception est authentique et non modifié."
    )
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Accusé de réception (fichier PDF)").set_input_files(modified(pdf))
    page.get_by_role("button", name="Vérifier").click()
    expect(page.locator("#verdict")).to_contain_text(
        "L'authenticité de ce document ne peut pas être confirmée."
    )
    assert still_same_page(), "a verification was a full page load, not an htmx swap"
    assert Axe().run(page).violations_count == 0
    assert console_errors.unexpected() == []


def test_without_javascript(app, live_server, clock, other_page, log_in):
    space, draft = prepared(clock)
    page, errors = other_page(java_script_enabled=False, accept_downloads=True)
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/espaces/{space.id}/dossiers/{draft.id}/signer")
    clock.advance(seconds=30)
    page.get_by_label("Code à 6 chiffres (OTP)").fill(factories.otp())
    page.get_by_role("button", name="Signer et transmettre").click()
    expect(page).to_have_url(re.compile(rf"/espaces/{space.id}/dossiers/{draft.id}$"))
    expect(page.locator("#flashes")).to_contain_text("Votre dossier a été transmis.")
    assert Dossier.get_by_id(draft.id).status == "submitted"

    with page.expect_download() as download:
        page.get_by_role("link", name="Accusé de réception n° 1 (PDF signé)").click()
    assert validates(open(download.value.path(), "rb").read())

    page.get_by_label("Votre message").fill("Bonjour sans JavaScript")
    page.get_by_role("button", name="Envoyer le message").click()
    expect(page).to_have_url(re.compile(rf"/dossiers/{draft.id}#fil$"))
    expect(page.locator("#fil")).to_contain_text("Bonjour sans JavaScript")
    assert DossierMessage.select().count() == 1

    page.goto(live_server.url + "/verifier-un-accuse")
    page.get_by_label("Accusé de réception (fichier PDF)").set_input_files(download.value.path())
    page.get_by_role("button", name="Vérifier").click()
    expect(page.locator("#verdict")).to_contain_text("authentique et non modifié")
    assert errors.unexpected() == []
