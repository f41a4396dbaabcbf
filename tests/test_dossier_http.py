"""A dossier's pages over HTTP: the dossier page, Vérifier et signer and Envoyer un message as
htmx fragments, plain posts and boosted requests; refusals in the page with their status;
what a reader and the mandant's space see; downloads for members only; the public Vérifier un
accusé de réception. Who may reach each URL is also in the matrix (tests/test_spaces_http.py)."""

import html
import io

import pypdf
import pytest

import factories
from helpers import BOOSTED, HTMX, assert_constant_queries, csrf_token, log_in
from models import Dossier, DossierFile, DossierMessage, Receipt
from services import dossier_files, dossier_queue, dossiers, spaces

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


@pytest.fixture
def lea(client, app, clock):
    """Léa, admin of Guichet SARL's space (certified), logged in, with a complete draft."""
    lea = factories.user("lea")
    lea.space = factories.space(lea, name="Guichet")
    factories.procedure()
    factories.holder_certification(lea.space)
    lea.draft = factories.signable_dossier(lea.space)
    log_in(client, lea)
    lea.url = f"/espaces/{lea.space.id}/dossiers/{lea.draft.id}"
    lea.token = csrf_token(client.get(lea.url).get_data(as_text=True))
    return lea


def text(response):
    return html.unescape(response.get_data(as_text=True))


def sign_form(lea, **data):
    return {"csrf_token": lea.token, "version": str(lea.draft.version), "otp": factories.otp(), **data}


def submitted(lea):
    """Léa's draft, signed through the service (as a request would: its mails carry links),
    with the one-time code of the clock's next step."""
    from flask import current_app

    from services import submission

    member = spaces.membership_for(lea, lea.space.id)
    with current_app.test_request_context():
        code = factories.otp(steps=1)
        return submission.submit(member, lea, lea.draft.id, lea.draft.version, code, "::1")


# --- The dossier page ----------------------------------------------------------------------------


@WAYS
def test_the_dossier_page(client, lea, headers, partial):
    response = client.get(lea.url, headers=headers)
    body = text(response)
    assert response.status_code == 200 and ("<html" not in body) == partial
    assert body.lstrip().startswith('<div id="space-tab"') == partial
    for expected in (
        "Fiches de retenue d'impôt : demande de fiches",
        "Brouillon",
        "Guichet SARL (B123456)",
        "Administration des contributions directes (ACD)",
        "Raison sociale",
        "LU28 0019 4006 4475 0000",
        "Année 2026",
        "Marc Guichet",
        "Historique",
        "Vérifier et signer",
    ):
        assert expected in body, expected
    attached = DossierFile.get()
    assert f'href="{lea.url}/fichiers/{attached.id}" download>proces-verbal.pdf</a>' in body
    assert "Envoyer un message" not in body  # a draft has no thread yet


def test_a_submitted_dossier_shows_its_reference_receipt_history_and_thread(client, lea):
    submitted(lea)
    body = text(client.get(lea.url))
    assert "ACD-2026-000001" in body and "Transmis" in body and "Signé et transmis" in body
    assert f'href="{lea.url}/accuses/1" download>Accusé de réception n° 1 (PDF signé)</a>' in body
    assert "Envoyer un message" in body and "Aucun message pour le moment." in body
    assert 'href="/verifier-un-accuse"' in body
    assert "Vérifier et signer" not in body


def test_the_page_asks_a_constant_number_of_queries(client, lea):
    dossier, _receipt = submitted(lea)

    def grow(count):
        while DossierMessage.select().count() < count:
            message = dossiers.add_message(dossier, "Bonjour", user=lea)
            factories.dossier_file(dossier, message=message, name="piece.pdf")

    assert assert_constant_queries(client, lea.url + "?page=1", grow, small=3, large=40) < 40


# --- Vérifier et signer ----------------------------------------------------------------------------


@WAYS
def test_sign_and_transmit(client, lea, headers, partial):
    page = text(client.get(lea.url + "/signer"))
    assert "Vérifier et signer" in page and "Signer et transmettre" in page and "Marc Guichet" in page
    assert f'name="version" type="hidden" value="{lea.draft.version}"' in page
    assert 'autocomplete="one-time-code"' in page
    assert "vous les transmettez à l'administration : Administration des contributions directes (ACD)" in page
    response = client.post(lea.url + "/signer", data=sign_form(lea), headers=headers)
    if headers:  # htmx, boosted or not, loads the dossier's page whole (its header, its flash)
        assert response.status_code == 200 and response.headers["HX-Redirect"] == lea.url
    else:
        assert response.status_code == 303 and response.headers["Location"] == lea.url
    body = text(client.get(lea.url))
    assert "Votre dossier a été transmis. Sa référence : ACD-2026-000001." in body
    assert f"{lea.url}/accuses/1" in body
    assert Dossier.get_by_id(lea.draft.id).status == "submitted"


@WAYS
def test_a_wrong_code_is_said_beside_the_field(client, lea, headers, partial):
    response = client.post(lea.url + "/signer", data=sign_form(lea, otp="000000"), headers=headers)
    body = text(response)
    assert response.status_code == 422 and ("<html" not in body) == partial
    assert body.lstrip().startswith('<section class="panel" id="dossier-sign">') == partial
    assert 'id="otp-error">Le code à 6 chiffres est incorrect' in body and 'aria-invalid="true"' in body
    assert Dossier.get_by_id(lea.draft.id).status == "draft" and Receipt.select().count() == 0


def test_too_many_wrong_codes_wait_with_retry_after(client, lea):
    for _attempt in range(10):
        client.post(lea.url + "/signer", data=sign_form(lea, otp="000000"))
    response = client.post(lea.url + "/signer", data=sign_form(lea), headers=HTMX)
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 900
    assert "Trop de tentatives erronées" in text(response)
    assert Dossier.get_by_id(lea.draft.id).status == "draft"


@WAYS
def test_a_stale_page_is_409_and_shows_the_dossier_as_it_is(client, lea, headers, partial):
    Dossier.update(version=7).where(Dossier.id == lea.draft.id).execute()
    response = client.post(lea.url + "/signer", data=sign_form(lea), headers=headers)
    body = text(response)
    assert response.status_code == 409 and ("<html" not in body) == partial
    assert "Ce dossier a changé depuis l'ouverture de cette page" in body
    assert 'name="version" type="hidden" value="7"' in body  # the page now signs what it shows
    assert Receipt.select().count() == 0


@WAYS
def test_signing_again_from_another_tab_is_409_with_the_dossiers_link(client, lea, clock, headers, partial):
    form = sign_form(lea)  # the second tab, opened before the first signs
    assert client.post(lea.url + "/signer", data=sign_form(lea)).status_code == 303
    clock.advance(seconds=30)
    response = client.post(lea.url + "/signer", data={**form, "otp": factories.otp()}, headers=headers)
    body = text(response)
    assert response.status_code == 409 and ("<html" not in body) == partial
    assert body.lstrip().startswith('<section class="panel" id="dossier-sign">') == partial
    assert "Ce dossier a été transmis" in body and f'<a href="{lea.url}">Voir le dossier</a>' in body
    assert Receipt.select().count() == 1


def test_an_incomplete_dossier_lists_its_steps_and_offers_no_signature(client, lea):
    Dossier.update(data={**lea.draft.data, "employees": []}).where(Dossier.id == lea.draft.id).execute()
    body = text(client.get(lea.url + "/signer"))
    assert "Le dossier est incomplet" in body and "Étape 2 : Vos salariés" in body
    assert "1 champ à compléter" in body and "Signer et transmettre" not in body
    response = client.post(lea.url + "/signer", data=sign_form(lea))
    assert response.status_code == 422 and "complétez les étapes indiquées" in text(response)


def test_a_complement_asks_and_links_to_the_assistant(client, lea, clock, app):
    dossier, _receipt = submitted(lea)
    agent = factories.agent("ACD", "agent.acd")
    with app.test_request_context():
        dossier_queue.decide(agent, dossier.id, "take")
        dossier_queue.decide(agent, dossier.id, "complement", "Joignez le procès-verbal signé.")
    body = text(client.get(lea.url))
    assert "Complément demandé" in body and "Joignez le procès-verbal signé." in body
    assert "Compléter le dossier" in body
    clock.advance(minutes=1)  # a code after the first signature's
    response = client.post(
        lea.url + "/signer", data=sign_form(lea, version=str(Dossier.get_by_id(dossier.id).version))
    )
    assert response.status_code == 303
    assert [r.number for r in Receipt.select().order_by(Receipt.number)] == [1, 2]


def test_a_refused_dossier_says_why(client, lea, app):
    dossier, _receipt = submitted(lea)
    agent = factories.agent("ACD", "agent.acd")
    with app.test_request_context():
        dossier_queue.decide(agent, dossier.id, "take")
        dossier_queue.decide(agent, dossier.id, "reject", "Le délai de dépôt est dépassé.")
    body = text(client.get(lea.url))
    assert 'id="rejection"' in body and "Dossier refusé" in body and "Le délai de dépôt est dépassé." in body


# --- Envoyer un message -------------------------------------------------------------------------


@WAYS
def test_send_a_message_with_an_attachment(client, lea, headers, partial):
    submitted(lea)
    data = {
        "csrf_token": lea.token,
        "body": "Voici le procès-verbal.\nCordialement",
        "attachment": (io.BytesIO(factories.PDF), "procès verbal.pdf"),
    }
    response = client.post(
        lea.url + "/messages", data=data, headers=headers, content_type="multipart/form-data"
    )
    if partial:
        assert response.status_code == 200
        body = text(response)
        assert body.lstrip().startswith('<section class="thread" id="fil"')
    else:
        assert response.status_code == 303 and response.headers["Location"] == lea.url + "#fil"
        body = text(client.get(lea.url))
    assert "Votre message est envoyé à l'administration." in body
    assert "Voici le procès-verbal.<br>Cordialement" in body
    message = DossierMessage.get()
    attached = DossierFile.get(DossierFile.message == message.id)
    assert (attached.name, attached.content_type) == ("procès verbal.pdf", "application/pdf")
    assert f'href="{lea.url}/fichiers/{attached.id}" download>procès verbal.pdf</a>' in body


@WAYS
def test_message_refusals_are_said_in_the_form(client, lea, headers, partial):
    submitted(lea)
    data = {
        "csrf_token": lea.token,
        "body": "Voici",
        "attachment": (io.BytesIO(b"MZ\x90 not a pdf"), "x.pdf"),
    }
    response = client.post(
        lea.url + "/messages", data=data, headers=headers, content_type="multipart/form-data"
    )
    body = text(response)
    assert response.status_code == 422 and ("<html" not in body) == partial
    assert (
        'id="attachment-error">Le fichier doit être un PDF, PNG ou JPEG (vérifié d\'après son contenu).'
        in body
    )
    response = client.post(
        lea.url + "/messages", data={"csrf_token": lea.token, "body": " "}, headers=headers
    )
    assert response.status_code == 422 and 'id="body-error">Écrivez votre message.' in text(response)
    assert DossierMessage.select().count() == 0


def test_no_message_on_a_draft(client, lea):
    response = client.post(lea.url + "/messages", data={"csrf_token": lea.token, "body": "Bonjour"})
    assert response.status_code == 409 and DossierMessage.select().count() == 0


# --- Who sees what ------------------------------------------------------------------------------


def test_a_reader_sees_but_neither_signs_nor_writes(client, lea):
    submitted(lea)
    other = factories.signable_dossier(lea.space)
    rita = factories.user("rita", email="rita@example.lu")
    factories.member(lea.space, rita, "reader")
    log_in(client, rita)
    body = text(client.get(lea.url))
    assert "ACD-2026-000001" in body and "Envoyer un message" not in body
    assert "votre rôle permet de lire les messages" in body
    assert client.get(f"{lea.url}/accuses/1").status_code == 200
    other_url = f"/espaces/{lea.space.id}/dossiers/{other.id}"
    assert "Vérifier et signer" not in text(client.get(other_url))
    assert client.get(other_url + "/signer").status_code == 403
    response = client.post(other_url + "/signer", data={**sign_form(lea), "version": "0"})
    assert response.status_code == 403
    response = client.post(lea.url + "/messages", data={"csrf_token": lea.token, "body": "Bonjour"})
    assert response.status_code == 403
    assert Dossier.get_by_id(other.id).status == "draft" and DossierMessage.select().count() == 0


def test_another_space_gets_404_everywhere(client, lea):
    _dossier, _receipt = submitted(lea)
    eve = factories.user("eve", email="eve@example.lu")
    eve_space = factories.space(eve, name="Chez Eve")
    log_in(client, eve)
    attached = DossierFile.get()
    for url in (lea.url, f"{lea.url}/signer", f"{lea.url}/accuses/1", f"{lea.url}/fichiers/{attached.id}"):
        assert client.get(url).status_code == 404, url
        own = url.replace(f"/espaces/{lea.space.id}/", f"/espaces/{eve_space.id}/")
        assert client.get(own).status_code == 404, own  # through her own space: not hers either
    response = client.post(lea.url + "/messages", data={"csrf_token": lea.token, "body": "Bonjour"})
    assert response.status_code == 404


def test_downloads_are_attachments_for_members_only(client, lea, app):
    dossier, receipt = submitted(lea)
    response = client.get(f"{lea.url}/accuses/1")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="accuse-de-reception-ACD-2026-000001-1.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store" and response.data == bytes(receipt.pdf)
    assert "ACD-2026-000001" in pypdf.PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    attached = DossierFile.get()
    response = client.get(f"{lea.url}/fichiers/{attached.id}")
    assert response.data == factories.PDF and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="proces-verbal.pdf"'
    assert client.get(f"{lea.url}/accuses/2").status_code == 404
    anonymous = app.test_client()
    response = anonymous.get(f"{lea.url}/accuses/1")
    assert response.status_code == 303 and response.headers["Location"] == "/connexion"


def test_the_mandants_space_reads_a_dossier_filed_by_its_mandatary(client, lea, app):
    fiona = factories.user("fiona", email="fiona@example.lu")
    fidu = factories.space(fiona, name="Fiduciaire", company_name="Fidu SA", identifier="B222222")
    with app.test_request_context():
        mandate = factories.taken_up_mandate(
            spaces.membership_for(lea, lea.space.id), spaces.membership_for(fiona, fidu.id)
        )
    filed = factories.signable_dossier(
        fidu,
        mandate=mandate,
        mandant_space=lea.space.id,
        company_identifier="B123456",
        company_name="Guichet SARL",
    )
    url = f"/espaces/{lea.space.id}/dossiers/{filed.id}"
    body = text(client.get(url))
    assert "Déposé par" in body and "Fidu SA (mandataire)" in body
    assert "Vérifier et signer" not in body and "Continuer le dossier" not in body
    assert client.get(url + "/signer").status_code == 403
    attached = DossierFile.get(DossierFile.dossier == filed.id)
    assert f'href="{url}/fichiers/{attached.id}"' in body  # in the mandant's own space
    assert client.get(f"{url}/fichiers/{attached.id}").data == factories.PDF


# --- Vérifier un accusé de réception ---------------------------------------------------------------


@WAYS
def test_verify_a_genuine_and_a_modified_receipt(app, lea, headers, partial):
    _dossier, receipt = submitted(lea)
    client = app.test_client()  # anyone: a bank, an accountant, the administration
    page = client.get("/verifier-un-accuse")
    assert page.status_code == 200 and "Vérifier un accusé de réception" in text(page)
    token = csrf_token(text(page))
    pdf = bytes(receipt.pdf)
    response = client.post(
        "/verifier-un-accuse",
        data={"csrf_token": token, "receipt": (io.BytesIO(pdf), "accuse.pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )
    body = text(response)
    assert response.status_code == 200 and ("<html" not in body) == partial
    assert "Cet accusé de réception est authentique et non modifié." in body
    assert "ACD-2026-000001" not in body and "Guichet" not in body  # nothing about the dossier
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01
    response = client.post(
        "/verifier-un-accuse",
        data={"csrf_token": token, "receipt": (io.BytesIO(bytes(changed)), "accuse.pdf")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "L'authenticité de ce document ne peut pas être confirmée." in text(response)


def test_verify_is_public_needs_a_file_and_a_token(app, lea):
    anonymous = app.test_client()
    page = anonymous.get("/verifier-un-accuse")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in text(page)
    token = csrf_token(text(page))
    response = anonymous.post("/verifier-un-accuse", data={"csrf_token": token})
    assert response.status_code == 422 and "Choisissez le fichier PDF" in text(response)
    response = anonymous.post(
        "/verifier-un-accuse",
        data={"receipt": (io.BytesIO(b"%PDF-1.7"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert 'href="/verifier-un-accuse"' in text(anonymous.get("/"))  # in the footer


def test_the_thread_takes_10_mb_and_nothing_once_closed(client, lea):
    dossier, _receipt = submitted(lea)
    limit = dossier_files.MAX_FILE
    for size, status in ((limit + 1, 422), (limit, 303)):
        content = factories.PDF + b"0" * (size - len(factories.PDF))
        data = {
            "csrf_token": lea.token,
            "body": "Bonjour",
            "attachment": (io.BytesIO(content), f"{size}.pdf"),
        }
        response = client.post(lea.url + "/messages", data=data, content_type="multipart/form-data")
        assert response.status_code == status, size
    assert "Le fichier dépasse 10 Mo." in text(
        client.post(
            lea.url + "/messages",
            data={
                "csrf_token": lea.token,
                "body": "x",
                "attachment": (io.BytesIO(b"%PDF" + b"0" * limit), "a.pdf"),
            },
            content_type="multipart/form-data",
        )
    )
    assert DossierFile.get(DossierFile.message.is_null(False)).size == limit
    Dossier.update(status="accepted").where(Dossier.id == dossier.id).execute()
    response = client.post(lea.url + "/messages", data={"csrf_token": lea.token, "body": "Encore"})
    assert response.status_code == 409 and "Les messages sont possibles tant que" in text(response)
    assert DossierMessage.select().count() == 1
