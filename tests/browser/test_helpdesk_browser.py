"""The helpdesk in Debian's chromium: it logs in (password, then the one-time code), adds an
administration and a service, refuses then accepts a procedure definition file, deactivates
a service, raises a person's space limit, restores a deleted space, filters the audit
journal, exports it as CSV and verifies the chain; every form swapped in place by htmx, the
same journeys without JavaScript; axe finds nothing; tables scroll inside their panel at
390 px."""

import json
import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories
from models import Administration, AuthProduct, Procedure, Service, Space
from services import audit, spaces

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = json.loads((ROOT / "data" / "procedures" / "lbr-changement-adresse.json").read_text("utf-8"))
PHONE = {"width": 390, "height": 844}


def definition_file(**changes):
    content = json.dumps({**DEFINITION, **changes}, ensure_ascii=False).encode("utf-8")
    return {"name": "demarche.json", "mimeType": "application/json", "buffer": content}


def log_in_helpdesk(page, url):
    page.goto(url + "/back-office")
    page.get_by_label("Identifiant d'agent").fill("helpdesk")
    page.get_by_label("Mot de passe").fill(factories.AGENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("OTP").fill(factories.otp())
    page.get_by_role("button", name="S'authentifier").click()
    expect(page.get_by_role("heading", name="Administrations et démarches", level=1)).to_be_visible()


def fits_a_phone(page):
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 720})
    return width <= PHONE["width"]


def deleted_space(name):
    lea = factories.user(name.lower(), first_name=name)
    space = factories.space(lea, name=f"Espace de {name}")
    spaces.delete_space(spaces.membership_for(lea, space.id), lea, space.name)
    return space


def test_the_helpdesk_runs_the_portal(
    app, live_server, clock, page, console_errors, mark_page, still_same_page
):
    factories.demo_procedures()
    factories.helpdesk()
    lea = deleted_space("Lea")
    audit.record("space.renamed", actor=factories.user("marc"), space_id=lea.id, name="Guichet")

    log_in_helpdesk(page, live_server.url)
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)

    # A new administration: a refused code beside its field, then its page.
    mark_page()
    page.locator("#code").fill("acd")
    page.locator("#name").fill("Encore l'ACD")
    page.locator("#name_de").fill("Sozialversicherungszentrum")
    page.locator("#name_en").fill("Joint social security centre")
    page.get_by_role("button", name="Ajouter l'administration").click()
    expect(page.locator("#code-error")).to_have_text("Une administration porte déjà ce code.")
    assert still_same_page()
    assert Axe().run(page).violations_count == 0
    page.locator("#code").fill("CCSS")
    page.locator("#name").fill("Centre commun de la sécurité sociale")
    page.get_by_role("button", name="Ajouter l'administration").click()
    expect(page.get_by_role("heading", name="Centre commun de la sécurité sociale (CCSS)")).to_be_visible()
    expect(page.locator("#flashes")).to_contain_text("Administration créée : CCSS.")

    mark_page()
    page.get_by_label("Identifiant").fill("affiliation")
    page.locator("#service-name").fill("Affiliation des salariés")
    page.locator("#service-name_de").fill("Anmeldung der Beschäftigten")
    page.locator("#service-name_en").fill("Employee registration")
    page.get_by_label("Exige une certification de l'espace").check()
    page.get_by_role("button", name="Ajouter le service").click()
    expect(page.locator("#service-methods-error")).to_contain_text("Un service qui exige une certification")
    page.get_by_label("Code d'accès").check()
    page.get_by_role("button", name="Ajouter le service").click()
    expect(page.locator("#flashes")).to_contain_text("Service créé : Affiliation des salariés.")
    expect(page.locator("#services")).to_contain_text("affiliation")
    assert still_same_page(), "the forms reloaded the page"
    assert Service.get(slug="affiliation").accepts_code
    assert Axe().run(page).violations_count == 0

    # Deactivate it from its page.
    page.locator("#services").get_by_role("link", name="Affiliation des salariés").click()
    mark_page()
    page.get_by_role("button", name="Désactiver").click()
    expect(page.locator("#flashes")).to_contain_text("Désactivé : Affiliation des salariés.")
    expect(page.get_by_role("button", name="Réactiver")).to_be_visible()
    assert still_same_page() and Service.get(slug="affiliation").active is False

    # A procedure definition: refused with the path of its problem, then accepted.
    page.get_by_role("navigation", name="Back-office").get_by_role(
        "link", name="Administrations et démarches"
    ).click()
    page.get_by_label("Fichier de définition (JSON)").set_input_files(
        definition_file(slug="ccss-affiliation", administration="CCSS", service="inconnu")
    )
    page.get_by_role("button", name="Ajouter la démarche").click()
    expect(page.locator("#definition-problems")).to_contain_text(
        "service : service 'inconnu' inconnu de l'administration CCSS"
    )
    assert Axe().run(page).violations_count == 0
    page.get_by_label("Fichier de définition (JSON)").set_input_files(
        definition_file(slug="ccss-affiliation", administration="CCSS", service="affiliation")
    )
    page.get_by_role("button", name="Ajouter la démarche").click()
    expect(page.locator("#flashes")).to_contain_text(
        "Démarche ajoutée : Déclaration de changement d'adresse."
    )
    assert Procedure.get(slug="ccss-affiliation").administration.code == "CCSS"
    assert Axe().run(page).violations_count == 0

    # Comptes et espaces: the limit of a person, a deleted space restored.
    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Comptes et espaces").click()
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)
    mark_page()
    page.get_by_label("Identifiant (UserID)").fill("lea")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#person")).to_contain_text("Non bloquée")
    page.get_by_label("Limite d'espaces professionnels").fill("300")
    page.get_by_role("button", name="Enregistrer la limite").click()
    expect(page.locator("#flashes")).to_contain_text("Limite d'espaces professionnels de lea : 300.")
    assert AuthProduct.get(AuthProduct.user == lea.created_by_id).space_limit == 300
    page.locator(f"#deleted-space-{lea.id}").get_by_role("button", name="Restaurer").click()
    expect(page.locator("#flashes")).to_contain_text("Espace restauré : Espace de Lea.")
    expect(page.locator(f"#deleted-space-{lea.id}")).to_have_count(0)
    assert still_same_page() and Space.get_by_id(lea.id).deleted_at is None
    assert Axe().run(page).violations_count == 0

    # Journal d'audit: filtered in place, exported, verified.
    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Journal d'audit").click()
    assert Axe().run(page).violations_count == 0
    assert fits_a_phone(page)
    mark_page()
    page.get_by_label("Action").select_option("helpdesk.*")
    page.get_by_role("button", name="Filtrer").click()
    journal = page.locator("#journal")
    expect(journal).to_contain_text("2 entrées")  # the limit and the restoration
    expect(page).to_have_url(re.compile(r"action=helpdesk"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter (CSV)").click()
    exported = Path(download.value.path()).read_bytes().decode("utf-8")
    assert exported.startswith("\ufeffid;date;acteur;action") and exported.count("helpdesk.") == 2
    page.get_by_role("button", name="Vérifier la chaîne").click()
    expect(page.locator("#flashes")).to_contain_text("Chaîne d'audit intacte")
    assert still_same_page(), "the journal reloaded the page"
    assert console_errors.unexpected() == []


def test_the_helpdesk_without_javascript(app, live_server, clock, other_page):
    factories.demo_procedures()
    factories.helpdesk()
    space = deleted_space("Lea")
    page, errors = other_page(java_script_enabled=False, accept_downloads=True)
    log_in_helpdesk(page, live_server.url)

    page.locator("#code").fill("CCSS")
    page.locator("#name").fill("Centre commun")
    page.locator("#name_de").fill("Gemeinsames Zentrum")
    page.locator("#name_en").fill("Joint centre")
    page.get_by_role("button", name="Ajouter l'administration").click()
    expect(page.locator("#flashes")).to_contain_text("Administration créée : CCSS.")
    page.get_by_role("button", name="Désactiver").click()
    expect(page.locator("#flashes")).to_contain_text("Désactivé : Centre commun.")
    assert Administration.get(code="CCSS").active is False

    page.goto(live_server.url + "/back-office/helpdesk/catalogue")
    page.get_by_label("Fichier de définition (JSON)").set_input_files(definition_file(slug="lbr-radiation"))
    page.get_by_role("button", name="Ajouter la démarche").click()
    expect(page.locator("#flashes")).to_contain_text("Démarche ajoutée")

    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Comptes et espaces").click()
    page.locator(f"#deleted-space-{space.id}").get_by_role("button", name="Restaurer").click()
    expect(page.locator("#flashes")).to_contain_text("Espace restauré : Espace de Lea.")

    page.get_by_role("navigation", name="Back-office").get_by_role("link", name="Journal d'audit").click()
    page.get_by_label("Action").select_option("helpdesk.space_restored")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator("#journal")).to_contain_text("1 entrée")
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter (CSV)").click()
    assert "helpdesk.space_restored" in Path(download.value.path()).read_text("utf-8")
    page.get_by_role("button", name="Vérifier la chaîne").click()
    expect(page.locator("#flashes")).to_contain_text("Chaîne d'audit intacte")
    expect(page).to_have_url(re.compile(r"/back-office/helpdesk/journal\?action=helpdesk.space_restored$"))
    assert errors.unexpected() == []
