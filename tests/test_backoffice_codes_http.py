"""Codes d'accès over HTTP: one code from the form, a batch from a CSV file, each as an htmx
card, a plain post and a boosted one; the codes shown once, in the answer to the post that
issued them (never cached), a batch's CSV downloadable once; refusals beside their field or
per line, with 422, issuing nothing."""

import html
import io
import re

import pytest

import factories
from factories import codes_csv, codes_line
from helpers import BOOSTED, HTMX, agent_log_in, csrf_token
from models import AccessCode, CodeBatch, Letter
from services import catalogue, code_batches, crypto, letters

PAGE = "/back-office/codes-d-acces"
BATCH = PAGE + "/lot"
WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
CODE = re.compile(r"[2-9A-HJKMNP-Z]{4}(?:-[2-9A-HJKMNP-Z]{4}){4}")


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def acd(app, client, clock):
    catalogue.load()
    agent = factories.agent("ACD", "agent.acd", name="Anne Agent")
    assert agent_log_in(client, "agent.acd").status_code == 303
    agent.token = csrf_token(client.get(PAGE).get_data(as_text=True))
    return agent


def single(acd, **fields):
    return {
        "csrf_token": acd.token,
        "company_identifier": "b 123 456",
        "company_name": "Guichet SARL",
        "address": "1, rue du Commerce\r\n\r\nL-1000 Luxembourg",
        "service": "fiches-retenue",
        "kind": "holder",
        "activation_days": "30",
        "valid_days": "365",
        **fields,
    }


def upload(client, acd, data, headers=None, name="codes.csv"):
    return client.post(
        BATCH,
        data={"csrf_token": acd.token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers or {},
    )


def card(response, partial, card_id):
    """The card answered: alone for htmx, in the whole page otherwise."""
    body = text(response)
    assert ("<html" not in body) == partial
    if partial:
        assert body.lstrip().startswith(f'<section class="panel" id="{card_id}">')
    return body


def test_the_page_offers_the_administrations_services_and_describes_the_file(client, acd):
    page = text(client.get(PAGE))
    assert '<option value="fiches-retenue">Fiches de retenue d\'impôt</option>' in page
    assert "elections-sociales" not in page  # the ITM's
    for column in code_batches.COLUMNS:
        assert f"<code>{column}</code>" in page
    assert "séparées par « / »" in page and 'href="/back-office/codes-d-acces/exemple.csv"' in page
    example = client.get(PAGE + "/exemple.csv")
    assert example.headers["Content-Disposition"] == 'attachment; filename="exemple-codes.csv"'
    assert example.get_data(as_text=True).startswith("\ufeffidentifiant;nom;adresse;service;type")


@WAYS
def test_one_code_is_shown_once_and_its_letter_queued(client, acd, headers, partial):
    response = client.post(PAGE, data=single(acd), headers=headers)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = card(response, partial, "issue-code")
    shown = re.search(r'id="issued-code">([^<]+)<', body).group(1)
    assert CODE.fullmatch(shown) and "Guichet SARL" in body and "B123456" in body
    access_code = AccessCode.get()
    assert access_code.code_hash == crypto.keyed_hash("access-code", crypto.normalize_code(shown))
    [letter] = letters.pending(acd.administration_id)
    assert letter.address_lines == ["1, rue du Commerce", "L-1000 Luxembourg"]
    assert letters.carried_code(letter) == shown
    assert shown not in text(client.get(PAGE))  # never shown again


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"company_identifier": "123"}, "company_identifier", "SIREN"),
        ({"company_name": "   "}, "company_name", "indiquez le nom enregistré"),
        ({"address": " \r\n "}, "address", "indiquez l'adresse enregistrée"),
        ({"address": "\r\n".join(["ligne"] * 6)}, "address", "5 lignes de 200 caractères"),
        ({"service": "elections-sociales"}, "service", "N'est pas un choix valide"),
        ({"kind": "admin"}, "kind", "N'est pas un choix valide"),
        ({"activation_days": "366"}, "activation_days", "de 1 à 365"),
        ({"activation_days": "trente"}, "activation_days", "N'est pas un entier valide"),
        ({"valid_days": "10"}, "valid_days", "plus courte que le délai d'activation (30 jours)"),
    ],
)
def test_a_refused_code_says_why_beside_its_field_and_issues_nothing(client, acd, fields, field, message):
    response = client.post(PAGE, data=single(acd, **fields), headers=HTMX)
    assert response.status_code == 422
    body = card(response, True, "issue-code")
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', body)
    assert error and message in error.group(1), body
    assert 'class="error-summary"' in body
    assert AccessCode.select().count() == 0 and Letter.select().count() == 0


@WAYS
def test_a_batch_is_shown_once_and_downloads_once(client, acd, headers, partial):
    response = upload(client, acd, codes_csv([codes_line(n) for n in (1, 2, 3)], bom=True), headers)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = card(response, partial, "issue-batch")
    assert "Lot émis : 3 codes" in body
    shown = CODE.findall(body)
    assert len(shown) == 3 and AccessCode.select().count() == 3
    assert len(list(letters.pending(acd.administration_id))) == 3
    batch = CodeBatch.get()
    link = f"/back-office/codes-d-acces/lots/{batch.id}.csv"
    assert f'href="{link}"' in body

    download = client.get(link)
    assert download.status_code == 200 and download.headers["Cache-Control"] == "no-store"
    assert download.headers["Content-Disposition"] == f'attachment; filename="codes-lot-{batch.id}.csv"'
    assert CODE.findall(download.get_data(as_text=True)) == shown
    again = client.get(link)
    assert again.status_code == 410
    assert "déjà été téléchargés" in text(again) and "<nav" in text(again)  # the back-office's page
    assert not any(code in text(client.get(PAGE)) for code in shown)


def test_a_batch_with_a_wrong_line_lists_it_and_issues_nothing(client, acd):
    data = codes_csv([codes_line(1), codes_line(2, identifiant="12"), codes_line(3, jours_activation="0")])
    response = upload(client, acd, data, HTMX)
    assert response.status_code == 422
    body = card(response, True, "issue-batch")
    assert "Aucun code n'a été émis" in body
    items = re.findall(r"<li>(Ligne \d+ : [^<]*)</li>", body)
    assert [item.split(" :")[0] for item in items] == ["Ligne 3", "Ligne 4"]
    assert "RCS" in items[0] and "délai d'activation est un nombre de jours de 1 à 365" in items[1]
    assert AccessCode.select().count() == CodeBatch.select().count() == Letter.select().count() == 0

    plain = upload(client, acd, data)
    assert plain.status_code == 422 and "Ligne 3 :" in text(plain) and "<html" in text(plain)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"x" * (code_batches.MAX_FILE_SIZE + 1), "dépasse 1 Mo"),
        ("é;à\r\n".encode("latin-1"), "UTF-8"),
        (b"a;b;c\r\n1;2;3\r\n", "La première ligne du fichier doit nommer les colonnes"),
    ],
)
def test_a_file_that_is_no_batch_is_refused_beside_the_file_field(client, acd, data, message):
    response = upload(client, acd, data, HTMX)
    assert response.status_code == 422
    error = re.search(r'<p class="field-error" id="file-error">([^<]*)</p>', text(response))
    assert error and message in error.group(1)
    assert AccessCode.select().count() == 0


def test_an_upload_beyond_the_limit_is_413_and_no_file_is_422(client, acd):
    assert upload(client, acd, b"x" * (2 * 1024 * 1024)).status_code == 413
    response = client.post(BATCH, data={"csrf_token": acd.token}, headers=HTMX)
    assert response.status_code == 422 and "Choisissez le fichier CSV" in text(response)


def test_a_batch_is_its_agents_only(client, acd, app):
    batch, _issued = code_batches.issue_batch(acd, codes_csv([codes_line(1)]))
    factories.agent("ACD", "agent.acd2")
    other = app.test_client()
    agent_log_in(other, "agent.acd2")
    assert other.get(f"/back-office/codes-d-acces/lots/{batch.id}.csv").status_code == 404
    assert CodeBatch.get_by_id(batch.id).csv_encrypted is not None  # still there for its agent
    assert client.get(f"/back-office/codes-d-acces/lots/{batch.id}.csv").status_code == 200


def test_posts_need_the_csrf_token(client, acd):
    assert client.post(PAGE, data={**single(acd), "csrf_token": "x"}).status_code == 400
    assert client.post(BATCH, data={"csrf_token": "x"}).status_code == 400
    assert AccessCode.select().count() == 0
