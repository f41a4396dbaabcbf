"""Registre des entreprises over HTTP, the helpdesk's: the register searched and paged (an
htmx swap, a plain page, a boosted one) with a constant number of queries; an import as an
htmx post (HX-Location to the register), a plain post (303) and a boosted one; refusals
beside the file field or per line, with 422, importing nothing; the example file; the
helpdesk's only; the "sources authentiques" page showing what the register holds."""

import html
import io
import json
import re

import pytest

import factories
from factories import RCS_HEADER, SIRENE_HEADER, csv_file, rcs_line, registered_company, sirene_line
from helpers import BOOSTED, HTMX, agent_log_in, assert_constant_queries, csrf_token, log_in
from models import AuditEntry, Company
from services import access_codes, catalogue, company_imports, spaces

PAGE = "/back-office/helpdesk/entreprises"
IMPORT = PAGE + "/import"
WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def desk(client, app, clock):
    factories.helpdesk()
    assert agent_log_in(client, "helpdesk").status_code == 303
    return {"token": csrf_token(client.get(PAGE).get_data(as_text=True))}


def upload(client, desk, data, fmt="rcs", headers=None, name="registre.csv"):
    return client.post(
        IMPORT,
        data={"csrf_token": desk["token"], "format": fmt, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers or {},
    )


def panel(response, partial):
    """The register's panel: alone for htmx, in the whole back-office page otherwise."""
    body = text(response)
    assert ("<html" not in body) == partial
    if partial:
        assert body.lstrip().startswith('<section class="panel" id="companies">')
    else:
        assert "Registre des entreprises</a>" in body  # the nav's section
    return body


@WAYS
def test_the_register_is_searched_and_paged(client, desk, headers, partial):
    company_imports.load_demo()
    body = panel(client.get(PAGE, headers=headers), partial)
    assert f"{Company.select().count()} entreprises" in body
    assert "Guichet SARL" in body and "LU28 •••• 0000" in body and "LU280019400644750000" not in body
    assert "1, rue du Commerce<br>L-1000 Luxembourg<br>Luxembourg" in body

    found = panel(client.get(PAGE + "?q=7328+29320", headers=headers), partial)
    assert "1 entreprise" in found and "Fiduciaire de l'Est SAS" in found and "Guichet SARL" not in found
    none = panel(client.get(PAGE + "?q=introuvable", headers=headers), partial)
    assert "Aucune entreprise du registre ne correspond à « introuvable »." in none


def test_the_register_pages_with_a_constant_number_of_queries(client, desk):
    def grow(n):
        have = Company.select().count()
        for i in range(have, n):
            registered_company(f"B{300000 + i}", name=f"Entreprise {i:04d}")

    assert_constant_queries(client, PAGE + "?page=2&q=Entreprise", grow, small=60, large=160)
    body = client.get(PAGE + "?page=2&q=Entreprise").get_data(as_text=True)
    assert (
        "Page 2 sur 4" in body and 'href="/back-office/helpdesk/entreprises?page=3&amp;q=Entreprise"' in body
    )


@WAYS
def test_an_import_goes_back_to_the_register_with_its_counts(client, desk, headers, partial):
    registered_company("B200001", name="Ancien nom")
    response = upload(client, desk, csv_file([rcs_line(1), rcs_line(2)], RCS_HEADER, ";"), headers=headers)
    if partial:
        assert response.status_code == 200
        assert json.loads(response.headers["HX-Location"]) == {
            "path": PAGE,
            "target": "#companies",
            "swap": "outerHTML",
        }
    else:
        assert response.status_code == 303 and response.headers["Location"] == PAGE
    page = text(client.get(PAGE))
    said = "(Registre de commerce (RCS), format du portail) — ajoutées : 1, mises à jour : 1, inchangées : 0"
    assert "Registre des entreprises mis à jour " + said in page
    assert "Entreprise 1 SA" in page and "Ancien nom" not in page
    [entry] = AuditEntry.select().where(AuditEntry.action == "company.imported")
    assert entry.actor == "Hélène Helpdesk (Helpdesk)" and entry.details["format"] == "rcs"


def test_a_sirene_extract_is_imported(client, desk):
    data = csv_file([sirene_line(1), sirene_line(2, head="false")], SIRENE_HEADER, bom=True)
    assert upload(client, desk, data, "sirene").status_code == 303
    page = text(client.get(PAGE))
    assert (
        "Société 1" in page
        and "1 AVENUE DE LA GARE" in page
        and "établissements non siège ignorés : 1" in page
    )


def test_wrong_lines_are_listed_and_nothing_is_imported(client, desk):
    data = csv_file([rcs_line(1), rcs_line(2, rcs="732829320"), rcs_line(3, iban="FR00")], RCS_HEADER, ";")
    response = upload(client, desk, data, headers=HTMX)
    assert response.status_code == 422
    body = panel(response, True)
    assert "Rien n'a été importé" in body
    items = re.findall(r"<li>(Ligne \d+ : [^<]*)</li>", body)
    assert [item.split(" :")[0] for item in items] == ["Ligne 3", "Ligne 4"]
    assert "Numéro RCS invalide" in items[0] and "IBAN invalide" in items[1]
    assert Company.select().count() == 0

    plain = upload(client, desk, data)
    assert plain.status_code == 422 and "Ligne 3 :" in text(plain) and "<html" in text(plain)


def test_past_a_hundred_wrong_lines_the_others_are_counted(client, desk):
    data = csv_file([rcs_line(n, rcs="X") for n in range(1, 106)], RCS_HEADER, ";")
    body = text(upload(client, desk, data, headers=HTMX))
    assert len(re.findall(r"<li>Ligne \d+ :", body)) == 100 and "Et 5 autres lignes refusées." in body


@pytest.mark.parametrize(
    "data, fmt, message",
    [
        (b"x" * (company_imports.MAX_FILE_SIZE + 1), "rcs", "dépasse 5 Mo"),
        ("rcs;x\r\n".encode("latin-1") + b"\xe9", "rcs", "UTF-8"),
        (b"a;b;c\r\n1;2;3\r\n", "rcs", "La première ligne du fichier doit nommer les colonnes"),
        (csv_file([rcs_line(1)], RCS_HEADER), "sirene", "il y manque : siren, etablissementSiege"),
    ],
)
def test_a_file_that_is_no_register_is_refused_beside_the_file_field(client, desk, data, fmt, message):
    response = upload(client, desk, data, fmt, headers=HTMX)
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="file-error">([^<]*)</p>', text(response))
    assert error and message in error.group(1)
    assert Company.select().count() == 0


def test_the_format_and_the_file_are_required(client, desk):
    response = upload(client, desk, csv_file([rcs_line(1)], RCS_HEADER), fmt="", headers=HTMX)
    assert response.status_code == 422 and "Choisissez le format du fichier." in text(response)
    response = client.post(IMPORT, data={"csrf_token": desk["token"], "format": "rcs"}, headers=HTMX)
    assert response.status_code == 422 and "Choisissez le fichier CSV." in text(response)
    assert upload(client, desk, b"x" * (6 * 1024 * 1024)).status_code == 413
    assert client.post(IMPORT, data={"csrf_token": "x", "format": "rcs"}).status_code == 400
    assert Company.select().count() == 0


def test_the_page_describes_the_formats_and_offers_an_example(client, desk):
    page = text(client.get(PAGE))
    for column in company_imports.RCS_COLUMNS:
        assert f"<code>{column}</code>" in page
    assert "etablissementSiege" in page and 'href="/back-office/helpdesk/entreprises/exemple-rcs.csv"' in page
    example = client.get(PAGE + "/exemple-rcs.csv")
    assert example.headers["Content-Disposition"] == 'attachment; filename="exemple-registre-rcs.csv"'
    assert example.get_data(as_text=True).startswith("\ufeff" + ";".join(company_imports.RCS_COLUMNS))
    assert upload(client, desk, example.get_data()).status_code == 303
    assert Company.select().count() == 2


def test_an_administrations_agent_has_no_register(client, app, clock):
    factories.agent()
    agent_log_in(client)
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE + "/exemple-rcs.csv").status_code == 403


def test_the_authentic_sources_show_the_registered_company(client, app, clock):
    catalogue.load()
    registered_company("B123456", name="Guichet SARL", legal_form="SARL")
    lea = factories.user("lea")
    guichet = factories.space(lea, name="Guichet")  # Guichet SARL, B123456
    _row, code = factories.access_code("LBR", "sources-authentiques", "B123456", "holder")
    access_codes.redeem_holder_code(spaces.membership_for(lea, guichet.id), lea, code)
    log_in(client, lea)
    for headers in ({}, HTMX):
        body = text(client.get(f"/espaces/{guichet.id}/services/sources-authentiques", headers=headers))
        assert "<dt>Forme juridique</dt><dd>SARL</dd>" in body
        assert "<dd>1, rue du Commerce<br>L-1000 Luxembourg<br>Luxembourg</dd>" in body
        assert (
            "Luxembourg Business Registers (RCS), Centre commun" in body
            and "Registre des entreprises" in body
        )
