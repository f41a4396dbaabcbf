"""Pour le compte de a mandant in Debian's chromium: a fiduciary starts the fiches de
retenue for its client (the choice of the company, then the client's record prefilled) and
saves the draft; the client's holder space sees it "déposé par … (mandataire)"; the client
revokes the mandate and the fiduciary's open draft is read-only at once, its next save
refused in place. The choice works without JavaScript too; axe finds nothing."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from services import mandates

TITLE = "Fiches de retenue d'impôt : demande de fiches"
ENDED = "Le mandat sous lequel ce dossier a été déposé a pris fin"


def fiduciary_and_client(app):
    """Guichet SARL (Léa) has given Fiona's fiduciary, itself certified, a mandate for its
    fiches de retenue; returns (the client's holder Membership, its space, the fiduciary's
    space, the mandate's proxy Certification)."""
    with app.test_request_context():  # the mandate's mails carry links
        holder, fiduciary, certification = factories.fiduciary_and_client("Guichet Luxembourg")
    return holder, holder.space, fiduciary.space, certification


def enter(page, base, log_in, userid):
    page.goto(base + "/connexion")
    log_in(page, userid)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()


def start_for_the_client(page, base, fidu):
    page.goto(f"{base}/espaces/{fidu.id}")
    page.get_by_role("link", name=f"Commencer {TITLE}").click()
    expect(page.get_by_role("group", name="Pour quelle entreprise ?")).to_be_visible()
    expect(page.get_by_label(re.compile("Fidu SA"))).to_be_checked()  # its own company first
    page.get_by_label(re.compile("Guichet SARL")).check()
    page.get_by_role("button", name="Commencer").click()
    expect(page.get_by_role("heading", name="Étape 1 sur 4 : Votre entreprise")).to_be_visible()
    expect(page.locator("#company_name")).to_have_value("Guichet SARL")  # the client's record
    expect(page.locator("#street")).to_have_value("1, rue du Commerce")


def test_the_fiduciary_files_for_its_client_until_the_mandate_is_revoked(
    app, live_server, clock, page, console_errors, other_page, log_in
):
    holder, guichet, fidu, certification = fiduciary_and_client(app)
    base = live_server.url
    enter(page, base, log_in, "fiona")
    page.goto(f"{base}/espaces/{fidu.id}/demarches/acd-fiches-retenue")
    assert Axe().run(page).violations_count == 0
    start_for_the_client(page, base, fidu)
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text("Le brouillon est enregistré.")).to_be_visible()

    client_page, client_errors = other_page()
    enter(client_page, base, log_in, "lea")
    client_page.goto(f"{base}/espaces/{guichet.id}")
    dossiers = client_page.get_by_role("region", name="Mes dossiers")
    expect(dossiers).to_contain_text("déposé par Fiduciaire Fiona (mandataire)")
    expect(dossiers).to_contain_text("Guichet SARL")
    assert Axe().run(client_page).violations_count == 0

    with app.test_request_context():  # Léa revokes it from her space
        mandates.revoke_mandate(holder, holder.user, mandates.mandate_of_certification(certification).id)

    # Fiona's tab still shows the draft's form: her next save is refused in place.
    page.locator("#company_name").fill("Autre SARL")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_text(ENDED)).to_be_visible()
    expect(page.get_by_role("button", name="Enregistrer le brouillon")).to_have_count(0)
    expect(page.locator("#company_name")).to_have_value("Guichet SARL")  # as saved, not as typed
    assert Axe().run(page).violations_count == 0
    page.goto(f"{base}/espaces/{fidu.id}")
    row = page.get_by_role("region", name="Mes dossiers").get_by_role("row", name=re.compile("Guichet SARL"))
    expect(row).to_contain_text("Mandat terminé : lecture seule")
    row.get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(re.compile(r"/dossiers/\d+$"))  # the dossier's page, not the assistant
    # The refusal is a 403 that htmx swaps in as an answer, not as an error (chromium still
    # logs the status it loaded).
    assert console_errors.unexpected(403) == []
    assert client_errors.unexpected() == []


def test_the_choice_without_javascript(app, live_server, clock, other_page, log_in):
    _holder, _guichet, fidu, _certification = fiduciary_and_client(app)
    page, errors = other_page(java_script_enabled=False)
    enter(page, live_server.url, log_in, "fiona")
    start_for_the_client(page, live_server.url, fidu)
    assert errors.unexpected() == []
