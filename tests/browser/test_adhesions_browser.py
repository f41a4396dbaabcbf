"""Mes services impots in Debian's chromium. Marie's Mode expert space (its numéro d'abonné in
the header) adheres for two companies: Boulangerie Dupont with the Messagerie and Payer la
TVA (the register knows no bank account for it: an IBAN and its holder, the fields brought by
htmx as the services are ticked), Garage Martin with Déclarer la TVA; each adhesion is
activated with the code read from its letter's PDF in the DGFiP's postal queue. Then Paul's
Mode simplifié space, its services waiting for activation, is activated with its posted code.
Every step swapped in place by htmx; axe finds nothing."""

import io
import re

import pypdf
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import Adhesion, Certification
from services import adhesions, letters

CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\b")


def posted_code(app, adhesion_id):
    """The code printed on the adhesion's letter, read from the PDF of the DGFiP's postal queue."""
    with app.test_request_context():
        letter_id = Adhesion.get_by_id(adhesion_id).letter_id
        queue = list(letters.pending(adhesions.impots_administration().id))
        assert letter_id in [letter.id for letter in queue]
        pdf = pypdf.PdfReader(io.BytesIO(letters.render_pdf(queue)))
    for page_ in pdf.pages:
        text = page_.extract_text()
        if f"Courrier n° {letter_id}" in text:
            return CODE.search(text).group(1)
    raise AssertionError(f"letter {letter_id} not in the queue's PDF")


def impots_log_in(page, url, email):
    page.goto(url + "/impots/connexion")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).not_to_have_url(re.compile(r"/impots/connexion"))


def test_an_expert_adheres_for_two_companies_and_a_simplified_space_is_activated(
    app, live_server, clock, page, console_errors, other_page, mark_page, still_same_page
):
    with app.test_request_context():
        marie = factories.expert_space()
        factories.registered_company(**factories.BOULANGERIE_DUPONT)  # an e-mail, no bank account
        factories.registered_company(**factories.GARAGE_MARTIN)
    impots_log_in(page, live_server.url, "marie.expert@example.fr")
    page.goto(f"{live_server.url}/espaces/{marie.space_id}")
    expect(page.get_by_text("Numéro d'abonné : 0612345678")).to_be_visible()
    mark_page()
    page.get_by_role("link", name="Mes services impots").click()
    expect(page.get_by_text("Cet espace n'a encore adhéré aux services d'aucune entreprise.")).to_be_visible()
    expect(page.get_by_text("Numéro d'abonné : 0612345678")).to_be_visible()

    # Boulangerie Dupont: the Messagerie and Payer la TVA.
    page.get_by_role("link", name="J'adhère").click()
    page.get_by_label("Numéro SIREN de l'entreprise").fill("40483304")
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#siren-error")).to_contain_text("Numéro SIREN invalide")
    page.get_by_label("Numéro SIREN de l'entreprise").fill("404 833 048")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_text("12, rue des Lilas, 69003 Lyon, France")).to_be_visible()
    expect(page.get_by_label("IBAN du compte bancaire")).to_have_count(0)  # until a Payer service
    page.get_by_label("Messagerie", exact=True).check()
    email = page.get_by_label("Adresse électronique de l'entreprise")
    expect(email).to_have_value("contact@boulangerie-dupont.fr")  # from the register
    page.get_by_label("Payer la TVA", exact=True).check()
    expect(page.get_by_label("IBAN du compte bancaire")).to_be_visible()
    expect(page.get_by_label("Messagerie", exact=True)).to_be_checked()
    page.get_by_role("button", name="Adhérer").click()
    expect(page.locator("#iban-error")).to_contain_text("Aucun compte bancaire actif n'est connu")
    assert Axe().run(page).violations_count == 0
    page.get_by_label("IBAN du compte bancaire").fill("FR76 3000 6000 0112 3456 7890 189")
    page.get_by_label("Titulaire du compte").fill("Boulangerie Dupont SAS")
    page.get_by_role("button", name="Adhérer").click()
    expect(
        page.get_by_text("Demande d'adhésion enregistrée pour Boulangerie Dupont SAS.", exact=False)
    ).to_be_visible()

    # Garage Martin: the register knows its account.
    page.get_by_role("link", name="J'adhère").click()
    page.get_by_label("Numéro SIREN de l'entreprise").fill(factories.OTHER_SIREN)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Payer la TVA", exact=True).check()
    expect(
        page.get_by_text("le compte bancaire connu de l'entreprise sera utilisé : FR76 •••• 0189")
    ).to_be_visible()
    # Ticked at once, before the first change's answer: the later request replaces it (hx-sync).
    page.get_by_label("Payer la TVA", exact=True).uncheck()
    page.get_by_label("Déclarer la TVA", exact=True).check()
    expect(page.get_by_label("Déclarer la TVA", exact=True)).to_be_checked()
    page.get_by_role("button", name="Adhérer").click()
    expect(
        page.get_by_text("Demande d'adhésion enregistrée pour Garage Martin SARL.", exact=False)
    ).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("en attente du code")).to_have_count(2)
    assert Axe().run(page).violations_count == 0

    # Each activated with the code of its letter.
    with app.test_request_context():
        ids = {a.company_identifier: a.id for a in Adhesion.select()}
    for name, siren in (
        ("Boulangerie Dupont SAS", factories.SIREN),
        ("Garage Martin SARL", factories.OTHER_SIREN),
    ):
        page.get_by_role("link", name=f"Saisir le code d'activation {name}").click()
        page.get_by_label("Code d'activation reçu par courrier").fill(posted_code(app, ids[siren]))
        page.get_by_role("button", name="Activer les services").click()
        expect(page.get_by_text(f"Services activés pour {name}.")).to_be_visible()
    expect(page.locator("table tbody tr .badge-ok")).to_have_count(2)
    with app.test_request_context():
        assert Certification.select().where(Certification.kind == "proxy").count() == 3
    assert still_same_page(), "a step was a full page load, not an htmx swap"
    assert console_errors.unexpected(replaced=True) == []

    # Paul's Mode simplifié space: waiting, then activated by its posted code.
    with app.test_request_context():
        paul, simplified, _code = factories.simplified_space(name="Boulangerie Dupont (Paul)")
    other, other_errors = other_page()
    impots_log_in(other, live_server.url, "paul.dupont@example.fr")
    other.goto(f"{live_server.url}/espaces/{paul.space_id}")
    banner = other.locator("#impots-banner")
    expect(banner).to_contain_text("Vos services en ligne sont en attente d'activation")
    banner.get_by_role("link", name="Activer mon espace").click()
    expect(other.get_by_text("Messagerie en attente d'activation")).to_be_visible()
    assert Axe().run(other).violations_count == 0
    other.get_by_label("Code d'activation reçu par courrier").fill(posted_code(app, simplified.id))
    other.get_by_role("button", name="Activer mon espace").click()
    expect(
        other.get_by_text("Votre espace est activé : ses services en ligne sont disponibles.")
    ).to_be_visible()
    expect(other.get_by_text("Messagerie active")).to_be_visible()
    expect(other.get_by_text("en attente d'activation")).to_have_count(0)
    assert other_errors.unexpected() == []
