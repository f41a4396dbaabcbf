"""The help pages in Debian's chromium: an opinion given at the foot of a page (a refusal
first) swapped in place by htmx; the contact form filled and sent with the keyboard alone, and
its acknowledgement received by a real SMTP server; both forms without JavaScript; the
helpdesk answering in the back-office and reading the opinions, at a phone's width too; axe
finds nothing on any of these pages."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import ContactRequest, Feedback


def no_violations(page):
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def test_an_opinion_in_place_and_the_help_pages(
    app, live_server, clock, page, console_errors, mark_page, still_same_page
):
    for path, heading in (
        ("/aspects-legaux", "Aspects légaux"),
        ("/accessibilite", "Déclaration d'accessibilité"),
        ("/aide", "Aide"),
    ):
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        no_violations(page)
    mark_page()
    feedback = page.locator("#feedback")
    feedback.get_by_role("button", name="Donnez un avis sur cette page").click()
    expect(feedback.locator(".error-summary")).to_contain_text("Répondez par Oui ou par Non.")
    no_violations(page)
    feedback.get_by_role("group", name="Avez-vous trouvé ce que vous cherchiez ?").get_by_label("Non").check()
    feedback.get_by_label("Bonne", exact=True).check()
    feedback.get_by_label("Écrivez un commentaire").fill("Il manque la fusion des espaces.")
    feedback.get_by_role("button", name="Donnez un avis sur cette page").click()
    expect(page.get_by_role("status")).to_contain_text("Votre avis a été envoyé avec succès !")
    assert still_same_page(), "the opinion was a full page load, not an htmx swap"
    kept = Feedback.get()
    assert (kept.page, kept.found, kept.rating, kept.comment) == (
        "/aide",
        False,
        4,
        "Il manque la fusion des espaces.",
    )
    no_violations(page)
    assert console_errors.unexpected() == []


def test_the_contact_form_with_the_keyboard_alone(app, live_server, clock, smtp, page, console_errors):
    page.goto(live_server.url + "/")
    page.get_by_role("navigation", name="Support").get_by_role("link", name="Contacter le Helpdesk").click()
    expect(page.get_by_role("heading", name="Contacter le Helpdesk", level=1)).to_be_visible()
    no_violations(page)

    page.get_by_label("Votre nom").focus()
    page.keyboard.type("Léa Guichet")
    page.keyboard.press("Tab")
    page.keyboard.type("lea@example")  # wrong: no domain
    page.keyboard.press("Tab")
    page.keyboard.type("Limite d'espaces")
    page.keyboard.press("Tab")
    page.keyboard.type("Bonjour,")
    page.keyboard.press("Enter")  # a new line in the message, not a submit
    page.keyboard.type("pouvez-vous relever ma limite ?")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Envoyer")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#email-error")).to_have_text("Cette adresse e-mail n'est pas valide.")
    expect(page.get_by_label("Objet")).to_have_value("Limite d'espaces")  # kept
    no_violations(page)

    page.get_by_role("link", name=re.compile("Votre adresse e-mail")).focus()  # the summary leads to it
    page.keyboard.press("Enter")
    expect(page.get_by_label("Votre adresse e-mail")).to_be_focused()
    page.keyboard.press("End")
    page.keyboard.type(".lu")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Envoyer")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#contact-card")).to_contain_text("Votre message a été envoyé au Helpdesk.")
    expect(page.get_by_label("Votre nom")).to_have_value("")  # a blank form for another message
    stored = ContactRequest.get()
    assert stored.email == "lea@example.lu" and stored.message == "Bonjour,\npouvez-vous relever ma limite ?"
    [ack] = smtp.wait_for(1)
    assert ack["To"] == "lea@example.lu" and ack["Subject"] == "Votre message au Helpdesk : Limite d'espaces"
    assert "relever ma limite" not in ack.get_body(("plain",)).get_content()
    assert console_errors.unexpected() == []


def test_both_forms_without_javascript(app, live_server, clock, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/accessibilite")
    page.locator("#feedback").get_by_role("button", name="Donnez un avis sur cette page").click()
    expect(page.get_by_role("heading", name="Votre avis nous intéresse", level=1)).to_be_visible()
    expect(page.locator("#feedback-found-error")).to_have_text("Répondez par Oui ou par Non.")
    page.get_by_label("Oui").check()
    page.get_by_label("Très bonne").check()
    page.get_by_role("button", name="Donnez un avis sur cette page").click()
    expect(page).to_have_url(live_server.url + "/accessibilite")  # back to the page
    expect(page.locator("#flashes")).to_contain_text("Votre avis a été envoyé avec succès !")
    assert Feedback.get().page == "/accessibilite" and Feedback.get().rating == 5

    page.get_by_role("navigation", name="Support").get_by_role("link", name="Contacter le Helpdesk").click()
    page.get_by_label("Votre nom").fill("Zoé Fiduciaire")
    page.get_by_label("Votre adresse e-mail").fill("zoe@example.lu")
    page.get_by_label("Objet").fill("Certification sans code")
    page.get_by_label("Votre message").fill("Comment certifier notre espace pour les élections sociales ?")
    page.get_by_role("button", name="Envoyer").click()
    expect(page).to_have_url(live_server.url + "/contact")
    expect(page.locator("#flashes")).to_contain_text("Votre message a été envoyé au Helpdesk.")
    assert ContactRequest.get().subject == "Certification sans code"
    context.close()


def test_the_helpdesk_answers_and_reads_the_opinions(
    app, live_server, clock, smtp, page, console_errors, mark_page, still_same_page
):
    factories.helpdesk()
    waiting = factories.contact_request(
        "Limite d'espaces professionnels", message="Bonjour,\nj'ai besoin de 250 espaces pour nos clients."
    )
    factories.feedback(
        "/espaces/3/donnees", False, 1, comment="Je ne trouve pas où ajouter l'IBAN de la société."
    )
    factories.feedback("/aide", True, 5)

    page.goto(live_server.url + "/back-office")
    page.get_by_label("Identifiant d'agent").fill("helpdesk")
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    page.get_by_role("link", name="Contacts", exact=True).click()
    expect(page.locator("#contacts")).to_contain_text("1 demande · 1 sans réponse")
    no_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})

    page.get_by_role("link", name="Limite d'espaces professionnels").click()
    expect(page.get_by_role("heading", name="Limite d'espaces professionnels", level=1)).to_be_visible()
    expect(page.locator(".contact-message")).to_contain_text("250 espaces")
    mark_page()
    page.get_by_role("button", name="Répondre").click()  # empty
    expect(page.locator("#answer-error")).to_have_text("Écrivez la réponse.")
    no_violations(page)
    page.get_by_label("Réponse").fill("Bonjour,\nvotre limite est maintenant de 300 espaces.")
    page.get_by_role("button", name="Répondre").click()
    expect(page.locator("#contact-request")).to_contain_text("Réponse envoyée à lea.guichet@example.lu.")
    expect(page.locator("#answer")).to_contain_text("300 espaces")
    expect(page.get_by_role("button", name="Répondre")).to_have_count(0)
    assert still_same_page(), "the answer was a full page load, not an htmx swap"
    assert ContactRequest.get_by_id(waiting.id).answered_at is not None
    [answer] = smtp.wait_for(1)
    assert answer["Subject"] == "Réponse du Helpdesk : Limite d'espaces professionnels"
    assert "300 espaces" in answer.get_body(("plain",)).get_content()

    page.get_by_role("link", name="Avis", exact=True).click()
    listed = page.locator("#feedback-list")
    expect(listed).to_contain_text("2 avis · 1 sur 2 a trouvé ce qu'il cherchait · note moyenne 3,0 sur 5")
    no_violations(page)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})
    mark_page()
    page.get_by_label("Filtrer par page").fill("donnees")
    expect(listed).to_contain_text("1 avis")
    expect(listed).to_contain_text("Je ne trouve pas où ajouter l'IBAN")
    expect(page).to_have_url(re.compile(r"q=donnees"))
    assert still_same_page(), "the filter reloaded the page"
    assert console_errors.unexpected() == []
