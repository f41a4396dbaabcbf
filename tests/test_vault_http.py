"""Mes données professionnelles over HTTP: add, modify and delete as htmx fragments, plain
posts and boosted requests; refusals beside their field with 422; what a reader sees; the
tab's query budget. Who may reach each URL is in the matrix (tests/test_spaces_http.py)."""

import html

import pytest

import factories
from helpers import BOOSTED, HTMX, assert_constant_queries, csrf_token, fingerprint, log_in
from models import VaultEntry

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


@pytest.fixture
def lea(client, app, clock):
    lea = factories.user("lea")
    lea.space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    lea.tab = f"/espaces/{lea.space.id}/donnees"
    lea.token = csrf_token(client.get(lea.tab).get_data(as_text=True))
    return lea


def text(response):
    return html.unescape(response.get_data(as_text=True))


def answered(response, partial, tab):
    """The tab again (htmx), or a 303 to it (plain and boosted) that shows the same."""
    if partial:
        assert response.status_code == 200
        body = text(response)
        assert "<html" not in body and body.lstrip().startswith('<div id="space-tab"')
        return body
    assert response.status_code == 303 and response.headers["Location"] == tab
    return None


@WAYS
def test_add_modify_delete(client, lea, headers, partial):
    tab, token = lea.tab, lea.token
    response = client.post(
        tab,
        data={"csrf_token": token, "key": "bank.iban", "value": "lu28 0019 4006 4475 0000"},
        headers=headers,
    )
    body = answered(response, partial, tab) or text(client.get(tab))
    assert "LU28 0019 4006 4475 0000" in body and "Information enregistrée : IBAN." in body
    assert VaultEntry.get().value == "LU280019400644750000"

    edit = f"{tab}/bank.iban/modifier"
    form = text(client.get(edit, headers=headers))
    assert f'action="{edit}"' in form and 'value="LU28 0019 4006 4475 0000"' in form
    assert ("<html" not in form) == partial
    response = client.post(
        edit, data={"csrf_token": token, "edit-value": "DE89 3704 0044 0532 0130 00"}, headers=headers
    )
    body = answered(response, partial, tab) or text(client.get(tab))
    assert "DE89 3704 0044 0532 0130 00" in body and "Information modifiée : IBAN." in body

    delete = f"{tab}/bank.iban/supprimer"
    before = fingerprint()
    asked = text(client.get(delete, headers=headers))
    assert "Supprimer IBAN (DE89 3704 0044 0532 0130 00) ?" in asked
    assert f'<form action="{delete}" method="post"' in asked and f'href="{tab}"' in asked
    assert (
        asked.strip().startswith('<div class="notice notice-warning" id="confirm-data-bank-iban"') == partial
    )
    assert fingerprint() == before  # asking changes nothing
    body = answered(client.post(delete, data={"csrf_token": token}, headers=headers), partial, tab)
    body = body or text(client.get(tab))
    assert "Information supprimée : IBAN." in body and "DE89" not in body
    assert VaultEntry.select().count() == 0


@WAYS
def test_refusals_are_said_beside_the_field(client, lea, headers, partial):
    tab, token = lea.tab, lea.token
    before = fingerprint()
    response = client.post(
        tab,
        data={"csrf_token": token, "key": "bank.iban", "value": "LU28 0019 4006 4475 0001"},
        headers=headers,
    )
    body = text(response)
    assert response.status_code == 422 and ("<html" not in body) == partial
    assert '<p class="field-error" id="value-error">IBAN invalide.</p>' in body
    assert 'aria-invalid="true"' in body and "LU28 0019 4006 4475 0001" in body  # kept to correct
    response = client.post(tab, data={"csrf_token": token, "key": "bank.iban", "value": ""}, headers=headers)
    assert response.status_code == 422 and "Saisissez une valeur." in text(response)
    response = client.post(tab, data={"csrf_token": token, "key": "no.such", "value": "x"}, headers=headers)
    assert response.status_code == 422 and "Choisissez une information dans la liste." in text(response)
    response = client.post(
        f"{tab}/company.identifier/modifier", data={"csrf_token": token, "edit-value": "LU1"}, headers=headers
    )
    body = text(response)
    assert response.status_code == 422 and 'id="edit-value-error"' in body and "SIREN" in body
    assert fingerprint() == before


def test_one_value_per_key_over_http(client, lea):
    VaultEntry.create(space=lea.space, key="bank.iban", value="LU280019400644750000")
    response = client.post(
        lea.tab, data={"csrf_token": lea.token, "key": "bank.iban", "value": "DE89370400440532013000"}
    )
    assert response.status_code == 409 and "déjà enregistrée" in text(response)
    assert VaultEntry.get().value == "LU280019400644750000"


def test_the_company_record_is_the_first_source(client, lea):
    body = text(client.get(lea.tab))
    assert "Guichet SARL" in body and "Données de l'entreprise" in body
    assert f"{lea.tab}/company.name/modifier" in body
    assert f"{lea.tab}/company.name/supprimer" not in body  # nothing of the vault's to delete
    client.post(
        f"{lea.tab}/company.name/modifier", data={"csrf_token": lea.token, "edit-value": "Guichet SA"}
    )
    body = text(client.get(lea.tab))
    assert "Guichet SA" in body and "Guichet SARL" not in body  # the vault's value overrides
    assert f"{lea.tab}/company.name/supprimer" in body
    asked = text(client.get(f"{lea.tab}/company.name/supprimer"))
    assert "La valeur du profil de l'entreprise sera de nouveau affichée." in asked


def test_readers_read_without_forms(client, app, clock):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    zoe = factories.user("zoe", email="zoe@example.lu")
    factories.member(space, zoe, "reader")
    VaultEntry.create(space=space, key="bank.iban", value="LU280019400644750000")
    log_in(client, zoe)
    body = text(client.get(f"/espaces/{space.id}/donnees"))
    assert "LU28 0019 4006 4475 0000" in body and "Guichet SARL" in body
    for absent in ("Ajouter une information", "/modifier", "/supprimer"):
        assert absent not in body, absent
    assert "votre rôle permet de les consulter" in body


def test_the_tab_keeps_a_constant_query_count(client, lea):
    def grow(n):
        have = VaultEntry.select().where(VaultEntry.space == lea.space).count()
        for i in range(have, n):
            VaultEntry.create(space=lea.space, key=f"other.{i:03d}", label=f"Autre {i}", value=str(i))
        if n >= 4 and not VaultEntry.select().where(VaultEntry.key == "bank.iban").exists():
            VaultEntry.create(space=lea.space, key="bank.iban", value="LU280019400644750000")

    assert_constant_queries(client, lea.tab, grow, small=5, large=50)
