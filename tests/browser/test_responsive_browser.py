"""Phones in Debian's chromium: at a 390 px viewport the space pages with real data (long
company names, e-mail addresses, several certifications, mandates and members) fit the
screen: nothing makes the page scroll sideways, the header and footer span it, and the
space's tabs stay a row of tabs."""

import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

import factories

PHONE = {"width": 390, "height": 844}
ADDRESS = ["1, rue du Commerce", "L-1000 Luxembourg"]
LONG_NAME = "Société Luxembourgeoise de Participations Industrielles et Commerciales"


@pytest.fixture
def busy_space(app, clock):
    """Guichet SARL, holder of three services, with mandates dispensed and obtained, and
    colleagues and invitations with long addresses."""
    from models import Service
    from services import access_codes, catalogue, mandates, memberships, spaces

    catalogue.load()
    lea = factories.user("lea", email="lea.guichet-de-la-comptabilite@fiduciaire-internationale.example.lu")
    guichet = factories.space(lea, name="Guichet SARL", company_name=LONG_NAME)
    with app.test_request_context():
        admin = spaces.membership_for(lea, guichet.id)
        for administration, slug in (
            ("ACD", "fiches-retenue"),
            ("ITM", "elections-sociales"),
            ("LBR", "sources-authentiques"),
        ):
            _row, code = access_codes.issue_code(
                administration, slug, "B123456", "holder", company_name=LONG_NAME, address_lines=ADDRESS
            )
            access_codes.redeem_holder_code(admin, lea, code)
        for number, identifier in enumerate(("B111111", "B222222", "732829320")):
            _row, code = access_codes.issue_code(
                "ACD",
                "fiches-retenue",
                identifier,
                "proxy",
                company_name=f"{LONG_NAME} {number}",
                address_lines=ADDRESS,
            )
            access_codes.redeem_proxy_code(admin, lea, code)
        for days in (30, 60, 90):
            mandates.grant_mandate(
                admin,
                lea,
                Service.get(slug="fiches-retenue").id,
                clock.now().date() + timedelta(days=days),
                "Fiduciaire Internationale du Grand-Duché de Luxembourg",
            )
        for number in range(3):
            colleague = factories.user(
                f"collegue{number}",
                first_name="Marie-Christine",
                last_name=f"Schmit-Weber-Hoffmann {number}",
                email=f"marie-christine.schmit-weber-{number}@comptabilite.example.lu",
            )
            factories.member(guichet, colleague, ("manager", "reader", "admin")[number])
        memberships.invite(
            admin, lea, "jean-philippe.de-la-fontaine@ressources-humaines.example.lu", "reader"
        )
    return guichet


def assert_fits(page, what):
    """Nothing scrolls sideways; the header and footer span the viewport."""
    widths = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth,
        viewport: document.documentElement.clientWidth,
        header: document.querySelector('.site-header').getBoundingClientRect().width,
        footer: document.querySelector('.site-footer').getBoundingClientRect().width,
    })""")
    assert widths["scroll"] <= PHONE["width"], (what, widths)
    assert widths["header"] == widths["footer"] == widths["viewport"], (what, widths)


def assert_tabs_are_tabs(page, what):
    """The space's sections are still a row of tab links, each on screen, the open one marked."""
    tabs = page.get_by_role("navigation", name="Sections de l'espace")
    links = tabs.get_by_role("link")
    expect(links).to_have_count(4)
    boxes = [links.nth(i).bounding_box() for i in range(4)]
    assert all(box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] for box in boxes), (
        what,
        boxes,
    )
    assert len({round(box["y"]) for box in boxes}) < 4, (what, "the tabs are stacked as a list")
    expect(tabs.locator('[aria-current="page"]')).to_have_count(1)


def test_space_pages_fit_a_phone(app, live_server, busy_space, page, console_errors, log_in):
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + "/connexion")
    log_in(page)
    expect(page.get_by_role("heading", name="Gérer mes espaces", level=1)).to_be_visible()
    assert_fits(page, "Gérer mes espaces")
    space = f"{live_server.url}/espaces/{busy_space.id}"
    for path, heading, rows in [
        ("", "Mes démarches", None),
        ("/profil", "Mon profil d'espace", None),
        ("/certifications", "Certifications", 6),
        ("/certifications/administrations", "Ajouter une certification via code d'accès", 4),
        ("/certifications/administrations/ACD", "Gestion : Administration des contributions directes", None),
        ("/mandats-obtenus", "Mandats obtenus", 3),
        ("/mandats-dispenses", "Mandats dispensés", 3),
        ("/utilisateurs", "Utilisateurs", 5),
    ]:
        page.goto(space + path)
        expect(
            page.locator("#space-tab").get_by_role("heading", name=re.compile(heading)).first
        ).to_be_visible()
        if rows:
            expect(page.locator("#space-tab tbody tr")).to_have_count(rows)
        assert_fits(page, path)
        assert_tabs_are_tabs(page, path)
        assert Axe().run(page).violations_count == 0, path
    assert console_errors == []
