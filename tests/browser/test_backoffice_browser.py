"""The back-office in Debian's chromium: an agent's first login enrols the authenticator
app (the QR code must render as an image), then decides a certification request."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import CertificationRequest, Service


def test_first_login_enrols_the_second_factor_then_decides_a_request(
    app, live_server, clock, page, console_errors
):
    from services import agents, catalogue

    catalogue.load()
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    filed = CertificationRequest.create(
        space=space,
        service=Service.get(slug="securite-alimentaire"),
        requested_by=lea,
        reason="Nous exploitons une boulangerie à Luxembourg.",
    )
    with app.test_request_context():
        agents.create_agent("ALVA", "agent.alva", "Agnès Agent", "", factories.AGENT_PASSWORD)

    page.goto(live_server.url + "/back-office")
    expect(page).to_have_url(re.compile(r"/back-office/connexion$"))
    page.get_by_label("Identifiant d'agent").fill("agent.alva")
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(
        page.get_by_role("heading", name="Activez votre application d'authentification", level=1)
    ).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("Code QR"))
    expect(qr).to_be_visible()
    # Once loaded, or failed.
    width = qr.evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(done => "
        "{ img.onload = img.onerror = () => done(img.naturalWidth); })"
    )
    assert width > 0, "the QR code does not render"
    assert Axe().run(page).violations_count == 0
    secret = page.locator("#totp-secret").inner_text().replace("-", "")
    page.get_by_label("OTP").fill("000000")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("alert")).to_contain_text("Le code à 6 chiffres est incorrect")
    page.get_by_label("OTP").fill(factories.otp(secret))
    page.get_by_role("button", name="Valider").click()

    expect(
        page.get_by_role("heading", name=re.compile("^Demandes de certification"), level=1)
    ).to_be_visible()
    request_card = page.locator(f"#request-{filed.id}")
    expect(request_card).to_contain_text("Nous exploitons une boulangerie à Luxembourg.")
    request_card.get_by_role("button", name="Approuver").click()
    expect(page.locator("#flashes")).to_contain_text("Demande approuvée : l'espace est certifié.")
    assert CertificationRequest.get_by_id(filed.id).status == "approved"

    page.locator(".user-menu summary").click()  # the agent's menu in the header
    expect(page.locator(".user-menu summary")).to_have_text("Agnès Agent (ALVA)")
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.locator("#flashes")).to_contain_text("Vous êtes déconnecté du back-office.")
    page.goto(live_server.url + "/back-office")
    expect(page).to_have_url(re.compile(r"/back-office/connexion$"))
    assert console_errors.unexpected(401) == []
