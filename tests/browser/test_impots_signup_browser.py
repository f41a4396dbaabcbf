"""Créer mon espace professionnel as a new person does it, in Debian's chromium, the mail
through a real SMTP server: the Mode simplifié from the form to the space created (the link
read at the company's e-mail), then its login; the Mode expert to the numéro d'abonné (the
code read from the mail)."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import Letter, Space
from services import catalogue


def fill_person(page, first_name, last_name, email):
    page.get_by_label(re.compile("^Prénom")).fill(first_name)
    page.get_by_label(re.compile("^Nom")).fill(last_name)
    page.get_by_label(re.compile("^Adresse électronique")).fill(email)
    page.get_by_label(re.compile("^Mot de passe")).fill(factories.PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(factories.PASSWORD)
    page.get_by_label("J'accepte les conditions générales d'utilisation").check()


def test_simplified_mode_from_the_form_to_the_space(app, live_server, smtp, clock, page, console_errors):
    catalogue.load()
    factories.registered_company(**factories.BOULANGERIE_MARTIN)
    page.goto(live_server.url + "/connexion")
    page.get_by_role("link", name="Créer mon espace professionnel").click()
    expect(page.get_by_role("heading", name="Mode simplifié")).to_be_visible()
    page.get_by_role("link", name="Créer en mode simplifié").click()
    assert Axe().run(page).violations_count == 0

    page.get_by_label("Numéro SIREN de l'entreprise").fill("552 100 554")
    fill_person(page, "Paul", "Martin", "paul.martin@example.fr")
    page.get_by_role("button", name="Valider").click()
    expect(page.locator(".error-summary")).to_contain_text("ne figure pas dans le registre des entreprises")
    page.get_by_label("Numéro SIREN de l'entreprise").fill("732 829 320")
    page.get_by_label(re.compile("^Mot de passe")).fill(factories.PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Valider").click()
    expect(
        page.get_by_text("à l'adresse électronique de l'entreprise, c•••@boulangerie-martin.fr.")
    ).to_be_visible()
    assert Axe().run(page).violations_count == 0

    [mail] = smtp.wait_for(1)  # sent once the response has gone
    assert mail["To"] == "contact@boulangerie-martin.fr"
    link = re.search(
        r"http://127\.0\.0\.1:\d+/impots/creer/lien/\w+", mail.get_body(("plain",)).get_content()
    )
    page.goto(link.group(0))
    expect(page.get_by_text("Boulangerie Martin SARL")).to_be_visible()
    page.get_by_role("button", name="Créer mon espace").click()
    expect(page.get_by_text("L'espace professionnel « Boulangerie Martin SARL » est créé")).to_be_visible()
    assert Space.get().identifier == "732829320" and Letter.select().count() == 1

    page.get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse électronique").fill("paul.martin@example.fr")
    page.get_by_label("Mot de passe").fill(factories.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".user-menu summary")).to_have_text("Paul Martin")
    expect(page.get_by_text("Boulangerie Martin SARL").first).to_be_visible()
    assert console_errors.unexpected() == []


def settled(page):
    """Waits for htmx to finish settling the swapped content (it focuses [autofocus] then)."""
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-swapping, .htmx-request')")


def test_expert_mode_to_the_subscriber_number(app, live_server, smtp, clock, page, console_errors):
    page.goto(live_server.url + "/connexion")
    page.get_by_role("link", name="Créer mon espace professionnel").click()
    page.get_by_role("link", name="Créer en mode expert").click()
    fill_person(page, "Claire", "Expert", "claire.expert@example.fr")
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("envoyé à l'adresse claire.expert@example.fr.")).to_be_visible()

    [mail] = smtp.wait_for(1)
    code = re.search(r"Votre code d'activation : (\S+)", mail.get_body(("plain",)).get_content()).group(1)
    page.get_by_role("link", name="Activer mon espace/mes services").click()
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Adresse électronique de connexion").fill("claire.expert@example.fr")
    page.get_by_label("Code d'activation").fill("AAAA-AAAA")
    page.get_by_role("button", name="Activer").click()
    expect(page.locator(".error-summary")).to_contain_text("Ce code d'activation ne correspond pas")
    settled(page)  # else htmx's settling may move the focus (autofocus) while the code is typed
    page.get_by_label("Code d'activation").fill(code.lower())
    page.get_by_role("button", name="Activer").click()
    expect(page.locator("#subscriber-number")).to_have_text(re.compile(r"^\d{10}$"))
    number = Space.get().subscriber_number
    expect(page.locator("#subscriber-number")).to_have_text(number)
    assert Axe().run(page).violations_count == 0
    assert console_errors.unexpected() == []


def test_an_htmx_swap_sets_no_inline_style(app, live_server, page, console_errors):
    """The strict CSP refuses inline styles, and htmx's settling copies an old element's
    `style` to its new twin with setAttribute: an input that a script or the browser's
    autofill styled (through the CSSOM, which the CSP allows) then logs a CSP error on every
    swap. The app's htmx configuration settles no style."""
    factories.impots_user("claire.expert@example.fr")
    page.goto(live_server.url + "/impots/connexion")
    page.evaluate("document.getElementById('email').style.outline = '1px solid'")
    page.get_by_label("Adresse électronique").fill("claire.expert@example.fr")
    page.get_by_label("Mot de passe").fill("not the password at all")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator(".error-summary")).to_contain_text("Adresse électronique ou mot de passe incorrect")
    assert not [error for error in console_errors if "style" in error], console_errors
