"""Certification in Debian's chromium: the holder code card swapped in place by
htmx on the ACD's Gestion page, Dispenser un mandat with its code shown once, a fiduciary
taking it up in Mandats obtenus and seeing the principal's sources authentiques, and
Révoquer ending that access at once."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories


def open_certifications(page, space_name):
    """Gérer mes espaces → the space → Mon profil d'espace → Certifications."""
    page.get_by_role("link", name=space_name, exact=True).click()
    expect(page.get_by_role("heading", name=space_name, level=1)).to_be_visible()
    page.get_by_role("navigation", name="Sections de l'espace").get_by_role(
        "link", name="Mon profil d'espace"
    ).click()
    page.get_by_role("navigation", name="Mon profil d'espace").get_by_role(
        "link", name="Certifications"
    ).click()
    expect(page.locator("#space-tab").get_by_role("heading", name="Certifications", level=3)).to_be_visible()


def subtab(page, label):
    page.get_by_role("navigation", name="Certifications et mandats").get_by_role("link", name=label).click()
    expect(page.locator("#space-tab").get_by_role("heading", name=label, level=3)).to_be_visible()


def test_holder_code_mandate_and_revocation(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page, other_page
):
    from services import access_codes, catalogue, spaces

    catalogue.load()
    lea = factories.user("lea")
    guichet = factories.space(lea, name="Guichet SARL")  # identifier B123456
    fidu_user = factories.user(
        "fidu", email="fidu@example.lu", first_name="Fanny", last_name="Fidu", matricule="1980010100011"
    )
    fidu = factories.space(fidu_user, name="Fiduciaire", company_name="Fiduciaire SA", identifier="B654321")
    with app.test_request_context():
        _row, holder_code = factories.access_code("ACD", "fiches-retenue", "B123456", "holder")
        # Guichet already holds the LBR's sources authentiques, whose mandate the fiduciary gets.
        _row, lbr_code = factories.access_code("LBR", "sources-authentiques", "B123456", "holder")
        access_codes.redeem_holder_code(spaces.membership_for(lea, guichet.id), lea, lbr_code)

    # Léa: Certifications → Ajouter une certification via code d'accès → Gestion (ACD)
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    open_certifications(page, "Guichet SARL")
    page.get_by_role("link", name="Ajouter une certification via code d'accès").click()
    expect(page.get_by_role("heading", name="Ajouter une certification via code d'accès")).to_be_visible()
    page.get_by_role("link", name="Gestion ACD").click()
    expect(
        page.get_by_role("heading", name="Gestion : Administration des contributions directes")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/espaces/{guichet.id}/certifications/administrations/ACD$"))

    # Mandat principal: a wrong code, the error inside the card without reload, then the right one
    card = page.locator("#holder-code-card")
    expect(card.get_by_role("heading", name="Mandat principal")).to_be_visible()
    mark_page()
    card.get_by_label("Code d'accès").fill("2222-2222-2222-2222-2222")
    card.get_by_role("button", name="Valider").click()
    expect(page.locator("#holder-code-card [role=alert]")).to_contain_text(
        "Ce code d'accès n'est pas valable pour cet espace."
    )
    assert still_same_page(), "the refusal was a full page load, not swapped in place"
    assert Axe().run(page).violations_count == 0

    page.locator("#holder-code-card").get_by_label("Code d'accès").fill(holder_code.replace("-", "").lower())
    page.locator("#holder-code-card").get_by_role("button", name="Valider").click()
    expect(page.locator("#holder-code-card [role=status]")).to_have_text(
        "L'espace est certifié pour le service « Fiches de retenue d'impôt »."
    )
    expect(page.locator("#holder-code-card [role=alert]")).to_have_count(0)
    assert still_same_page(), "the success was a full page load, not swapped in place"
    assert Axe().run(page).violations_count == 0

    # Mandats dispensés → Dispenser un mandat: the code is shown once
    subtab(page, "Mandats dispensés")
    page.get_by_label("Service").select_option(label="Consultation des sources authentiques")
    page.get_by_label("Date de fin du mandat").fill("2026-09-30")
    page.get_by_label("Mandataire prévu (note)").fill("Fiduciaire SA")
    page.get_by_role("button", name="Dispenser un mandat").click()
    expect(page.get_by_role("heading", name="Mandat dispensé")).to_be_visible()
    proxy_code = page.locator("#mandate-code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}(-[2-9A-HJKMNP-Z]{4}){4}", proxy_code), proxy_code

    # The fiduciary, in a browser of its own: Mandats obtenus → Ajouter un accès
    fidu_page, fidu_errors = other_page()
    fidu_page.goto(live_server.url + "/connexion")
    log_in(fidu_page, "fidu")
    expect(fidu_page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    open_certifications(fidu_page, "Fiduciaire")
    subtab(fidu_page, "Mandats obtenus")
    access = fidu_page.locator("#proxy-code-card")
    expect(access.get_by_role("heading", name="Ajouter un accès")).to_be_visible()
    access.get_by_label("Code d'accès").fill(proxy_code)
    access.get_by_role("button", name="Valider").click()
    expect(fidu_page.locator("#flashes")).to_contain_text(
        "Accès ajouté : Guichet SARL, service « Consultation des sources authentiques »."
    )
    expect(fidu_page).to_have_url(re.compile(rf"/espaces/{fidu.id}/mandats-obtenus$"))
    obtained = fidu_page.locator("#space-tab table")
    expect(obtained).to_contain_text("Guichet SARL")
    expect(obtained).to_contain_text("B123456")
    expect(obtained).to_contain_text("Actif")

    sources = f"{live_server.url}/espaces/{fidu.id}/services/sources-authentiques"
    fidu_page.goto(sources)
    expect(
        fidu_page.get_by_role("heading", name="Consultation des sources authentiques", level=2)
    ).to_be_visible()
    record = fidu_page.locator("article.record")
    expect(record).to_have_count(1)
    expect(record.get_by_role("heading", level=3)).to_contain_text("Guichet SARL")
    expect(record).to_contain_text("B123456")
    expect(record).to_contain_text("par mandat")

    # Léa revokes; the fiduciary is refused at once
    page.get_by_role("link", name="Retour aux mandats dispensés").click()
    granted = page.locator("#space-tab table")
    expect(granted).to_contain_text("Fiduciaire")
    expect(granted).to_contain_text("Actif")
    # Révoquer asks first, in place (htmx); Annuler leaves the mandate as it was
    mark_page()
    granted.get_by_role("link", name=re.compile("^Révoquer")).click()
    question = page.get_by_role(
        "group",
        name="Révoquer le mandat pour Guichet SARL, service « Consultation des sources authentiques » ?",
    )
    expect(question).to_be_visible()
    expect(question.get_by_role("link", name="Annuler")).to_be_focused()
    assert still_same_page()
    assert Axe().run(page).violations_count == 0
    question.get_by_role("link", name="Annuler").click()
    expect(question).to_have_count(0)
    expect(page.locator("#space-tab table")).to_contain_text("Actif")
    page.locator("#space-tab table").get_by_role("link", name=re.compile("^Révoquer")).click()
    question.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#flashes")).to_contain_text("Le mandat pour Guichet SARL est révoqué.")
    expect(page.locator("#space-tab table")).to_contain_text("Révoqué")
    expect(page.locator("#space-tab table").get_by_role("link", name=re.compile("^Révoquer"))).to_have_count(
        0
    )

    with fidu_page.expect_response(sources) as refused:
        fidu_page.reload()
    assert refused.value.status == 403
    expect(fidu_page.get_by_role("alert")).to_contain_text(
        "Le service « Consultation des sources authentiques » n'est accessible "
        "qu'à un espace professionnel certifié."
    )
    expect(fidu_page.locator("article.record")).to_have_count(0)
    expect(
        fidu_page.get_by_role("link", name="saisir un code d'accès mandataire remis par l'entreprise")
    ).to_be_visible()

    assert console_errors.unexpected() == []
    assert fidu_errors.unexpected(403) == []


def test_a_mandate_obtained_from_an_administration_is_revoked_without_javascript(
    app, live_server, clock, log_in, other_page
):
    """The mandatary revokes a mandate obtained with an administration's proxy code;
    without JavaScript, Révoquer opens a confirmation page whose Confirmer does it."""
    from services import access_codes, catalogue, spaces

    catalogue.load()
    fidu_user = factories.user(
        "fidu", email="fidu@example.lu", first_name="Fanny", last_name="Fidu", matricule="1980010100011"
    )
    fidu = factories.space(fidu_user, name="Fiduciaire", company_name="Fiduciaire SA", identifier="B654321")
    with app.test_request_context():
        _row, code = factories.access_code("LBR", "sources-authentiques", "B123456", "proxy")
        access_codes.redeem_proxy_code(spaces.membership_for(fidu_user, fidu.id), fidu_user, code)

    page, _errors = other_page(java_script_enabled=False)
    page.set_default_timeout(5000)
    page.goto(live_server.url + "/connexion")
    log_in(page, "fidu")
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/espaces/{fidu.id}/mandats-obtenus")
    page.locator("#space-tab table").get_by_role("link", name=re.compile("^Révoquer")).click()
    expect(page).to_have_url(re.compile(rf"/espaces/{fidu.id}/mandats-obtenus/\d+/revoquer$"))
    expect(page.get_by_role("heading", name="Révoquer un mandat obtenu", level=2)).to_be_visible()
    expect(
        page.get_by_role("group", name=re.compile("^Révoquer le mandat pour Guichet SARL"))
    ).to_contain_text("Cet espace n'aura plus accès au service pour cette entreprise.")
    page.get_by_role("button", name="Confirmer").click()
    expect(page).to_have_url(re.compile(rf"/espaces/{fidu.id}/mandats-obtenus$"))
    expect(page.locator("#flashes")).to_contain_text("Le mandat pour Guichet SARL est révoqué.")
    expect(page.locator("#space-tab table")).to_contain_text("Révoqué")
