"""Spaces in Debian's chromium: the Créer un espace professionnel wizard swapped in place by
htmx, Changer d'espace with its active search and the space's tabs, and inviting a colleague
with the mail through a real SMTP server."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories


def test_create_professional_space_wizard(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page
):
    factories.user()
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    assert page.url.endswith("/espaces")

    page.get_by_role("link", name="Créer un espace professionnel").click()
    expect(page.get_by_role("heading", name="Conditions générales d'utilisation", exact=True)).to_be_visible()
    assert page.url.endswith("/espaces/nouveau/cgu")
    mark_page()
    page.get_by_label("Accepter les CGU").check()
    page.get_by_role("button", name="Valider").click()

    # 1. the name, proposed by default
    expect(page.get_by_role("heading", name="1. Donnez un nom à votre espace")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/nom$"))
    expect(page.get_by_label("Nom de l'espace")).to_have_value("Espace pro de Léa")
    page.get_by_label("Nom de l'espace").fill("Guichet Luxembourg")
    page.get_by_role("button", name="Suivant").click()

    # 2. the company, first with an identifier that is neither RCS nor SIREN
    expect(
        page.get_by_role("heading", name="2. Renseignez les informations de votre entreprise")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/entreprise$"))
    page.get_by_label("Raison sociale").fill("Guichet SARL")
    page.get_by_label("Forme juridique").select_option("SARL")
    page.get_by_label("Numéro RCS (Luxembourg) ou SIREN (France)").fill("123")
    page.get_by_label("Numéro et rue").fill("1, rue du Commerce")
    page.get_by_label("Code postal").fill("L-1000")
    page.get_by_label("Localité").fill("Luxembourg")
    page.get_by_label("Adresse e-mail de l'entreprise").fill("contact@guichet.lu")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator(".error-summary")).to_contain_text("Numéro RCS")
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/entreprise$"))
    assert Axe().run(page).violations_count == 0

    # Précédent, then Suivant again: what was typed is still there
    page.get_by_role("button", name="Précédent").click()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/nom$"))
    expect(page.get_by_label("Nom de l'espace")).to_have_value("Guichet Luxembourg")
    page.get_by_role("button", name="Suivant").click()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/entreprise$"))
    expect(page.get_by_label("Raison sociale")).to_have_value("Guichet SARL")
    expect(page.get_by_label("Forme juridique")).to_have_value("SARL")
    expect(page.get_by_label("Numéro RCS (Luxembourg) ou SIREN (France)")).to_have_value("123")
    expect(page.get_by_label("Adresse e-mail de l'entreprise")).to_have_value("contact@guichet.lu")

    page.get_by_label("Numéro RCS (Luxembourg) ou SIREN (France)").fill("B123456")
    page.get_by_role("button", name="Suivant").click()

    # 3. the review
    expect(page.get_by_role("heading", name="3. Vérifiez vos infos d'utilisateurs")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/verification$"))
    review = page.locator("#wizard")
    expect(review).to_contain_text("Guichet Luxembourg")
    expect(review).to_contain_text("B123456")
    expect(review).to_contain_text("Société à responsabilité limitée (SARL)")
    assert still_same_page(), "a wizard step was a full page load, not an htmx swap"

    # the browser's back button shows step 2 with its entries
    page.go_back()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/entreprise$"))
    expect(
        page.get_by_role("heading", name="2. Renseignez les informations de votre entreprise")
    ).to_be_visible()
    expect(page.get_by_label("Raison sociale")).to_have_value("Guichet SARL")
    expect(page.get_by_label("Forme juridique")).to_have_value("SARL")
    expect(page.get_by_label("Numéro RCS (Luxembourg) ou SIREN (France)")).to_have_value("B123456")
    page.get_by_role("button", name="Suivant").click()
    expect(page).to_have_url(re.compile(r"/espaces/nouveau/verification$"))
    assert still_same_page(), "going back reloaded the whole page"

    page.get_by_role("button", name="Créer l'espace").click()
    expect(page.get_by_role("heading", name="Vous venez de créer votre espace professionnel")).to_be_visible()
    page.get_by_role("link", name="Aller à mon espace").click()
    expect(page.get_by_role("heading", name="Guichet Luxembourg", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Mes démarches")).to_be_visible()
    assert Axe().run(page).violations_count == 0
    assert console_errors.unexpected() == []


def test_switch_spaces_and_tabs(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page
):
    lea = factories.user()
    factories.space(lea, name="Espace privé de Léa", kind="private")
    factories.space(lea, name="Fiduciaire Guichet")
    factories.space(
        lea, name="Boulangerie du Marché", company_name="Boulangerie Lux SA", identifier="B654321"
    )
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Espace privé de Léa", level=1)).to_be_visible()

    menu = page.locator("details.user-menu")
    menu.locator("summary", has_text="Léa Guichet").click()
    menu.get_by_role("link", name="Changer d'espace").click()
    expect(page.get_by_role("heading", name="Changer d'espace", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Espace privé", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Espaces professionnels", exact=True)).to_be_visible()
    spaces_list = page.locator("#space-list")
    expect(spaces_list.get_by_role("link")).to_have_text(
        ["Espace privé de Léa", "Boulangerie du Marché", "Fiduciaire Guichet"]
    )

    mark_page()
    page.get_by_label("Rechercher un espace").fill("Fiduc")  # typing, no submit
    expect(spaces_list.get_by_role("link")).to_have_text(["Fiduciaire Guichet"])
    expect(spaces_list.locator(".result-count")).to_have_text("1 espace pour « Fiduc »")
    expect(page).to_have_url(re.compile(r"/espaces/changer\?q=Fiduc$"))
    assert still_same_page(), "the search reloaded the page"

    spaces_list.get_by_role("link", name="Fiduciaire Guichet").click()
    expect(page.get_by_role("heading", name="Fiduciaire Guichet", level=1)).to_be_visible()
    expect(page.locator(".space-kind")).to_contain_text("Espace professionnel")
    mark_page()

    tabs = page.get_by_role("navigation", name="Sections de l'espace")
    for label, path in [
        ("Mes données professionnelles", "/donnees"),
        ("Communications", "/communications"),
        ("Mon profil d'espace", "/profil"),
        ("Mes démarches", ""),
    ]:
        tabs.get_by_role("link", name=label).click()
        expect(page).to_have_url(re.compile(rf"/espaces/\d+{path}$"))
        expect(page.locator("#space-tab").get_by_role("heading", name=label, level=2)).to_be_visible()
        expect(tabs.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        expect(page).to_have_title(f"{label} · Fiduciaire Guichet · Espace Pro")  # follows the swap

    tabs.get_by_role("link", name="Mon profil d'espace").click()
    expect(page.locator("#space-tab")).to_contain_text("Guichet SARL")
    page.locator("#space-tab").get_by_role("link", name="Utilisateurs").click()
    expect(page).to_have_url(re.compile(r"/espaces/\d+/utilisateurs$"))
    expect(page.locator("#members")).to_contain_text("Léa Guichet")
    expect(page.locator("#members")).to_contain_text("Administrateur")
    assert still_same_page(), "a tab was a full page load, not an htmx swap"
    assert console_errors.unexpected() == []


def test_invite_a_colleague(app, live_server, smtp, clock, page, console_errors, log_in, other_page):
    lea = factories.user()
    factories.user("marc", email="marc@example.lu", first_name="Marc")
    factories.space(lea, name="Guichet Luxembourg")

    page.goto(live_server.url + "/connexion")
    log_in(page)
    page.get_by_role("link", name="Guichet Luxembourg", exact=True).click()
    page.get_by_role("link", name="Mon profil d'espace").click()
    page.locator("#space-tab").get_by_role("link", name="Utilisateurs").click()
    page.get_by_label("Adresse e-mail").fill("marc@example.lu")
    page.get_by_label("Rôle", exact=True).select_option(label="Consultation")
    page.get_by_role("button", name="Inviter").click()
    expect(
        page.get_by_text("Une invitation valable 7 jours a été envoyée à marc@example.lu.")
    ).to_be_visible()
    expect(page.locator("#space-tab table").first).to_contain_text("marc@example.lu")
    assert Axe().run(page).violations_count == 0

    [mail] = smtp.wait_for(1)
    assert mail["To"] == "marc@example.lu"
    text = mail.get_body(("plain",)).get_content()
    assert "avec le rôle Consultation" in text
    link = re.search(r"http://127\.0\.0\.1:\d+/invitations/\S+", text).group(0)

    marc_page, marc_errors = other_page()
    marc_page.goto(link)
    invitation = marc_page.locator("#invitation")
    expect(invitation).to_contain_text(
        "Vous êtes invité à rejoindre l'espace professionnel « Guichet Luxembourg » "
        "avec le rôle Consultation."
    )
    invitation.get_by_role("link", name="Connexion").click()
    log_in(marc_page, "marc")
    expect(marc_page).to_have_url(link)
    marc_page.get_by_role("button", name="Rejoindre l'espace").click()

    expect(marc_page.get_by_role("heading", name="Guichet Luxembourg", level=1)).to_be_visible()
    expect(marc_page.get_by_text("Vous avez rejoint l'espace Guichet Luxembourg.")).to_be_visible()
    expect(marc_page.locator(".space-kind .badge")).to_have_text("Consultation")

    marc_page.get_by_role("link", name="Mon profil d'espace").click()
    expect(marc_page).to_have_url(re.compile(r"/espaces/\d+/profil$"))
    expect(marc_page.locator("#space-tab")).to_contain_text("Guichet SARL")
    expect(marc_page.get_by_role("link", name="Supprimer cet espace")).to_have_count(0)
    expect(marc_page.get_by_role("button", name="Enregistrer")).to_have_count(0)

    marc_page.locator("#space-tab").get_by_role("link", name="Utilisateurs").click()
    expect(marc_page).to_have_url(re.compile(r"/espaces/\d+/utilisateurs$"))
    members = marc_page.locator("#members")
    expect(members).to_contain_text("Marc Guichet")
    expect(members).to_contain_text("Léa Guichet")
    expect(marc_page.get_by_role("button", name="Inviter")).to_have_count(0)
    expect(marc_page.get_by_label("Adresse e-mail")).to_have_count(0)
    assert console_errors.unexpected() == []
    assert marc_errors.unexpected() == []


def open_manage(page):
    """Gérer mes espaces, through the user menu."""
    menu = page.locator("details.user-menu")
    menu.locator("summary", has_text="Léa Guichet").click()
    menu.get_by_role("link", name="Gérer mes espaces").click()
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()


def test_merge_two_spaces(app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page):
    from models import VaultEntry

    lea = factories.user()
    target = factories.space(lea, name="Cible")
    source = factories.space(lea, name="Source")
    VaultEntry.create(space=target, key="phone", label="Téléphone", value="+352 2")
    VaultEntry.create(space=source, key="phone", label="Téléphone", value="+352 1")

    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    page.get_by_role("link", name="Fusionner deux espaces professionnels").click()
    expect(page.get_by_role("heading", name="Fusionner deux espaces professionnels", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/espaces/fusionner$"))

    mark_page()
    page.get_by_label("Espace à fusionner (source)").select_option(label="Source")
    page.get_by_label("Espace qui reçoit tout (cible)").select_option(label="Cible")
    page.get_by_role("button", name="Voir ce qui sera fusionné").click()

    merge = page.locator("#merge")
    expect(merge.get_by_role("heading", name="« Source » dans « Cible »", level=2)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/espaces/fusionner\?source={source.id}&target={target.id}$"))
    expect(merge.get_by_role("table")).to_contain_text("Membres")
    phone = merge.get_by_role("group", name="Téléphone")
    expect(phone.get_by_role("radio", name="+352 2 (Cible)")).to_be_checked()
    expect(phone.get_by_role("radio", name="+352 1 (Source)")).not_to_be_checked()
    assert still_same_page(), "the preview was a full page load, not an htmx swap"
    assert Axe().run(page).violations_count == 0

    phone.get_by_role("radio", name="+352 1 (Source)").check()
    page.get_by_role("button", name="Confirmer la fusion").click()
    expect(page.get_by_role("heading", name="Cible", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/espaces/{target.id}$"))
    expect(page.locator("#flashes")).to_contain_text("L'espace Source a été fusionné dans Cible.")

    open_manage(page)
    archived = page.get_by_role("region", name="Espaces archivés")
    expect(archived.get_by_role("listitem")).to_have_count(1)
    expect(archived.get_by_role("listitem")).to_contain_text("Source")
    expect(archived.get_by_role("listitem")).to_contain_text("fusionné dans Cible")
    expect(page.locator("#space-list").get_by_role("link", name="Source", exact=True)).to_have_count(0)

    page.locator("#space-list").get_by_role("link", name="Cible", exact=True).click()
    page.get_by_role("navigation", name="Sections de l'espace").get_by_role(
        "link", name="Mes données professionnelles"
    ).click()
    expect(page).to_have_url(re.compile(rf"/espaces/{target.id}/donnees$"))
    facts = page.locator("#data-other")  # a key data/vault_keys.json does not know
    expect(facts.locator("dt")).to_have_text(["Téléphone"])
    expect(facts.locator("dd")).to_contain_text(["+352 1"])
    expect(facts.locator("dd")).not_to_contain_text(["+352 2"])
    assert console_errors.unexpected() == []


def test_delete_a_space(app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page):
    lea = factories.user()
    marc = factories.user("marc", email="marc@example.lu", first_name="Marc")
    guichet = factories.space(lea, name="Guichet")
    factories.member(guichet, marc, "reader")

    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    spaces_list = page.locator("#space-list")
    expect(spaces_list.get_by_role("link", name="Guichet", exact=True)).to_be_visible()
    spaces_list.get_by_role("link", name="Supprimer Guichet").click()
    expect(page.get_by_role("heading", name="Supprimer un espace professionnel", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/espaces/{guichet.id}/supprimer$"))

    mark_page()
    name = page.get_by_label("Pour confirmer, saisissez le nom de l'espace : Guichet")
    name.fill("Guichet SARL")
    with page.expect_response(re.compile(r"/supprimer$")) as refused:
        page.get_by_role("button", name="Supprimer l'espace").click()
    assert refused.value.status == 422
    expect(page.locator("#delete-space .error-summary")).to_contain_text(
        "Le nom saisi ne correspond pas au nom de l'espace."
    )
    expect(page).to_have_url(re.compile(rf"/espaces/{guichet.id}/supprimer$"))
    assert still_same_page(), "the refusal was a full page load, not swapped in place"

    name.fill("Guichet")
    page.get_by_role("button", name="Supprimer l'espace").click()
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/espaces$"))
    expect(page.locator("#flashes")).to_contain_text("L'espace Guichet est supprimé.")
    expect(spaces_list.get_by_role("link", name="Guichet", exact=True)).to_have_count(0)
    expect(spaces_list).to_contain_text("Vous n'avez pas encore d'espace professionnel.")

    page.goto(f"{live_server.url}/espaces/{guichet.id}")
    expect(page.get_by_role("heading", name="Page introuvable", level=1)).to_be_visible()
    expect(page.get_by_text("Cet espace n'existe pas ou vous n'en êtes pas membre.")).to_be_visible()
    assert console_errors.unexpected(404) == []


def test_remove_a_member_asks_first(
    app, live_server, clock, page, console_errors, log_in, mark_page, still_same_page
):
    """Retirer swaps its question in place (htmx); Confirmer updates the Utilisateurs tab."""
    lea = factories.user()
    space = factories.space(lea, name="Guichet Luxembourg")
    factories.member(space, factories.user("marc", email="marc@example.lu", first_name="Marc"), "reader")

    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    page.goto(f"{live_server.url}/espaces/{space.id}/utilisateurs")
    members = page.locator("#members")
    mark_page()
    members.get_by_role("link", name="Retirer Marc Guichet").click()
    question = page.get_by_role("group", name="Retirer Marc Guichet de l'espace ?")
    expect(question).to_contain_text("Cette personne n'aura plus accès à l'espace Guichet Luxembourg.")
    expect(members).to_contain_text("Marc Guichet")  # nothing done yet
    assert Axe().run(page).violations_count == 0
    question.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Marc Guichet a été retiré de l'espace.")).to_be_visible()
    expect(members).not_to_contain_text("Marc Guichet")
    assert still_same_page()
    assert console_errors.unexpected() == []
