"""Mes démarches and the online assistant over HTTP: Commencer une démarche, each step as a
full page and as an htmx fragment, Suivant / Précédent / Enregistrer le brouillon and a
group's rows with and without JavaScript (htmx fragment, plain post + 303, boosted), refusals
(422 beside the fields, 409 for a stale tab or a dossier no longer a draft, 403 for a reader,
404 for another space) that change nothing, files checked by content, and the list's query
budget. Who may reach each URL is also in the matrix (tests/test_spaces_http.py)."""

import html
import json
import re
from datetime import timedelta

import pytest

import factories
from helpers import BOOSTED, HTMX, assert_constant_queries, csrf_token, fingerprint, log_in
from models import Dossier, DossierFile, Procedure, User, VaultEntry

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
ACD = "acd-fiches-retenue"


@pytest.fixture
def lea(client, app, clock):
    """Léa administers Guichet SARL's space, certified for the ACD's fiches de retenue and
    the ITM's élections sociales; Zoé reads in it."""
    factories.demo_procedures()
    lea = factories.user("lea")
    lea.space = factories.space(lea, name="Guichet")
    factories.holder_certification(lea.space)
    factories.holder_certification(lea.space, "elections-sociales")
    factories.member(lea.space, factories.user("zoe", email="zoe@example.lu"), "reader")
    log_in(client, lea)
    lea.home = f"/espaces/{lea.space.id}"
    lea.token = csrf_token(client.get(lea.home).get_data(as_text=True))
    return lea


def text(response):
    return html.unescape(response.get_data(as_text=True))


def new_dossier(lea, slug=ACD, **fields):
    return factories.dossier(lea.space, Procedure.get(Procedure.slug == slug), **fields)


def step_url(dossier, number):
    return f"/espaces/{dossier.space_id}/dossiers/{dossier.id}/etapes/{number}"


def post(client, lea, dossier, number, data, action="next", headers=None, version=None, **kwargs):
    version = Dossier.get_by_id(dossier.id).version if version is None else version
    form = {"csrf_token": lea.token, "version": str(version), "action": action, **data}
    return client.post(step_url(dossier, number), data=form, headers=headers or {}, **kwargs)


def went_to(response, partial, url):
    """Suivant / Précédent: HX-Location swapping #assistant for htmx, a 303 otherwise."""
    if partial:
        assert response.status_code == 200
        assert json.loads(response.headers["HX-Location"]) == {
            "path": url,
            "target": "#assistant",
            "swap": "outerHTML",
        }
    else:
        assert response.status_code == 303 and response.headers["Location"] == url


# --- Commencer une démarche, the list -------------------------------------------------------


def test_the_tab_offers_the_procedures_and_says_which_need_a_certification(client, lea):
    body = text(client.get(lea.home))
    assert "pas encore disponibles" not in body
    for slug in (ACD, "itm-elections-sociales", "lbr-changement-adresse"):
        assert f'action="/espaces/{lea.space.id}/demarches/{slug}"' in body
    assert "/demarches/alva-etablissement-alimentaire" not in body
    assert body.count("Certification requise") == 1
    assert f'href="/espaces/{lea.space.id}/services/securite-alimentaire">Obtenir la certification' in body
    assert "Aucun dossier pour le moment" in body and "Services en ligne" in body and "Actualités" in body


def test_a_reader_sees_the_procedures_without_starting_them(client, lea):
    new_dossier(lea, reference="ACD-2026-000001", status="submitted")
    log_in(client, User.get(User.userid == "zoe"))
    body = text(client.get(lea.home))
    assert "Fiches de retenue d'impôt : demande de fiches" in body and "/demarches/" not in body
    assert "votre rôle permet de les consulter" in body and "ACD-2026-000001" in body


@WAYS
def test_start_opens_the_first_step(client, lea, headers, partial):
    response = client.post(f"{lea.home}/demarches/{ACD}", data={"csrf_token": lea.token}, headers=headers)
    dossier = Dossier.get()
    url = step_url(dossier, 1)
    if headers:  # htmx, boosted or not: a full load of the step
        assert response.status_code == 200 and response.headers["HX-Redirect"] == url
    else:
        assert response.status_code == 303 and response.headers["Location"] == url
    assert (dossier.status, dossier.company_identifier, dossier.created_by_id) == ("draft", "B123456", lea.id)


def test_start_without_the_certification_is_refused(client, lea):
    before = fingerprint()
    response = client.post(
        f"{lea.home}/demarches/alva-etablissement-alimentaire", data={"csrf_token": lea.token}
    )
    assert response.status_code == 403 and "Sécurité alimentaire" in text(response)
    assert client.post(f"{lea.home}/demarches/nope", data={"csrf_token": lea.token}).status_code == 404
    assert fingerprint() == before


def test_the_list_shows_searches_and_pages_the_dossiers(client, lea, clock):
    for number in range(1, 53):
        changed = clock.now() - timedelta(minutes=100 - number)
        new_dossier(lea, reference=f"ACD-2026-{number:06d}", status="submitted", updated_at=changed)
    draft = new_dossier(lea, updated_at=clock.now())
    body = text(client.get(lea.home))
    assert f'href="/espaces/{lea.space.id}/dossiers/{draft.id}/etapes"' in body  # a draft resumes
    assert "ACD-2026-000052" in body and "ACD-2026-000002" not in body
    assert "Brouillon" in body and "Transmis" in body and "Page 1 sur 2" in body
    second = text(client.get(f"{lea.home}?page=2"))
    assert "ACD-2026-000002" in second and "ACD-2026-000052" not in second
    found = client.get(f"{lea.home}?q=000017", headers=HTMX)
    body = text(found)
    assert found.status_code == 200 and body.lstrip().startswith('<div id="space-tab"')
    assert "ACD-2026-000017" in body and "ACD-2026-000018" not in body
    assert f'href="/espaces/{lea.space.id}/dossiers/' in body
    assert "Aucun dossier ne correspond" in text(client.get(f"{lea.home}?q=introuvable"))
    past = text(client.get(f"{lea.home}?page=99"))  # an old link: the list leads back
    assert "Aucun dossier pour le moment" not in past
    assert "Cette page n'existe pas : la liste tient sur 2 pages." in past
    assert f'href="/espaces/{lea.space.id}?page=2"' in past


def test_the_list_query_budget_is_constant(client, lea):
    procedure = Procedure.get(Procedure.slug == ACD)

    def grow(count):
        for _ in range(count - Dossier.select().count()):
            factories.dossier(lea.space, procedure, status="submitted")

    assert_constant_queries(client, lea.home, grow, small=10, large=300)


# --- A step ---------------------------------------------------------------------------------


@WAYS
def test_a_step_is_a_page_and_a_fragment_with_the_prefill_marked(client, lea, headers, partial):
    dossier = new_dossier(lea)
    response = client.get(step_url(dossier, 1), headers=headers)
    body = text(response)
    assert response.status_code == 200 and ("<html" not in body) == partial
    if partial:
        assert body.lstrip().startswith('<section class="panel assistant" id="assistant"')
    assert "Étape 1 sur 4 : Votre entreprise" in body
    assert re.search(r'<label for="company_name">Raison sociale .*pré-rempli</span></label>', body)
    assert 'value="Guichet SARL"' in body and 'name="version" value="0"' in body
    assert "Précédent" not in body and "Enregistrer le brouillon" in body


def test_a_step_not_reached_goes_to_the_one_to_fill_and_resume_finds_it(client, lea):
    dossier = new_dossier(lea, step=1)
    response = client.get(step_url(dossier, 3))
    assert response.status_code == 302 and response.headers["Location"] == step_url(dossier, 2)
    response = client.get(f"/espaces/{lea.space.id}/dossiers/{dossier.id}/etapes")
    assert response.status_code == 302 and response.headers["Location"] == step_url(dossier, 2)
    assert client.get(step_url(dossier, 0)).status_code == 302
    before = fingerprint()
    response = post(client, lea, dossier, 3, factories.ACD_STEPS[3])
    assert response.status_code == 303 and response.headers["Location"] == step_url(dossier, 2)
    assert fingerprint() == before


@WAYS
def test_next_and_back(client, lea, headers, partial):
    dossier = new_dossier(lea)
    went_to(
        post(client, lea, dossier, 1, factories.ACD_STEPS[1], headers=headers), partial, step_url(dossier, 2)
    )
    saved = Dossier.get_by_id(dossier.id)
    assert (saved.step, saved.version, saved.data["company_name"]) == (1, 1, "Guichet SARL")
    typed = {"employees-0-matricule": "1983"}
    went_to(post(client, lea, dossier, 2, typed, "back", headers), partial, step_url(dossier, 1))
    assert Dossier.get_by_id(dossier.id).data["employees"][0]["matricule"] == "1983"  # kept as typed
    body = text(client.get(step_url(dossier, 2), headers=headers))
    assert 'value="1983"' in body and "Précédent" in body


@WAYS
def test_the_draft_is_saved_and_shown_again(client, lea, headers, partial):
    dossier = new_dossier(lea)
    response = post(client, lea, dossier, 1, {**factories.ACD_STEPS[1], "city": ""}, "draft", headers)
    if partial:
        body = text(response)
        assert response.status_code == 200 and body.lstrip().startswith('<section class="panel assistant"')
    else:
        assert response.status_code == 303 and response.headers["Location"] == step_url(dossier, 1)
        body = text(client.get(step_url(dossier, 1)))
    assert "Le brouillon est enregistré." in body and 'name="version" value="1"' in body
    assert 'id="city" name="city"' in body and Dossier.get_by_id(dossier.id).data["city"] == ""


@WAYS
def test_rows_are_added_and_removed_without_javascript_too(client, lea, headers, partial):
    dossier = new_dossier(lea, step=1)
    response = post(client, lea, dossier, 2, factories.ACD_STEPS[2], "add:employees", headers)
    if partial:  # the new row's first cell is focused
        body = text(response)
        assert response.status_code == 200 and 'name="employees-1-matricule" aria-describedby' in body
        assert re.search(r'id="employees-1-matricule"[^>]* autofocus', body)
    else:  # the page scrolls to the new row
        assert response.status_code == 303
        assert response.headers["Location"] == step_url(dossier, 2) + "#employees-1-matricule"
        body = text(client.get(response.headers["Location"]))
    assert 'id="employees-1-matricule"' in body and 'value="Muller"' in body
    assert 'value="remove:employees:1"' in body
    form = {**factories.ACD_STEPS[2], "employees-1-last_name": "Weber"}
    response = post(client, lea, dossier, 2, form, "remove:employees:0", headers)
    body = text(response) if partial else text(client.get(response.headers["Location"]))
    assert 'value="Weber"' in body and "Muller" not in body
    assert [row["last_name"] for row in Dossier.get_by_id(dossier.id).data["employees"]] == ["Weber"]


@WAYS
def test_invalid_values_are_said_beside_the_fields_and_nothing_changes(client, lea, headers, partial):
    dossier = new_dossier(lea, step=1)
    before = fingerprint()
    form = {"employees-0-matricule": "1983081974926", "employees-0-last_name": "Muller"}
    response = post(client, lea, dossier, 2, form, headers=headers)
    body = text(response)
    assert response.status_code == 422 and ("<html" not in body) == partial
    error = "Le matricule est invalide (chiffres de contrôle)."
    assert f'<p class="field-error" id="employees-0-matricule-error">{error}</p>' in body
    assert 'id="employees-0-matricule" name="employees-0-matricule" aria-describedby' in body
    assert 'aria-invalid="true"' in body and 'value="1983081974926"' in body and 'value="Muller"' in body
    assert '<a href="#employees-0-first_name">Ligne 1, Prénom : Ce champ est obligatoire.</a>' in body
    assert 'class="error-summary"' in body and 'name="version" value="0"' in body
    assert fingerprint() == before


def test_a_too_long_value_is_refused_even_for_a_draft(client, lea):
    dossier = new_dossier(lea)
    before = fingerprint()
    response = post(client, lea, dossier, 1, {"company_name": "x" * 201}, "draft")
    assert response.status_code == 422 and "200 caractères au plus." in text(response)
    assert fingerprint() == before


@WAYS
def test_a_stale_tab_is_refused_with_the_step_as_it_is_now(client, lea, headers, partial):
    dossier = new_dossier(lea)
    post(client, lea, dossier, 1, {**factories.ACD_STEPS[1], "city": "Esch-sur-Alzette"}, "draft")
    before = fingerprint()
    response = post(
        client, lea, dossier, 1, {**factories.ACD_STEPS[1], "city": "Diekirch"}, "draft", headers, 0
    )
    body = text(response)
    assert response.status_code == 409 and ("<html" not in body) == partial
    assert "modifié entre-temps" in body and 'value="Esch-sur-Alzette"' in body
    assert 'name="version" value="1"' in body and "Diekirch" not in body
    assert fingerprint() == before
    missing = client.post(step_url(dossier, 1), data={"csrf_token": lea.token, "action": "draft"})
    assert missing.status_code == 409 and fingerprint() == before


@WAYS
def test_a_transmitted_dossier_is_read_not_edited(client, lea, headers, partial):
    dossier = new_dossier(lea, step=3, status="submitted", reference="ACD-2026-000001")
    before = fingerprint()
    response = post(client, lea, dossier, 1, factories.ACD_STEPS[1], "draft", headers)
    body = text(response)
    assert response.status_code == 409 and "il ne peut plus être modifié" in body
    assert fingerprint() == before
    body = text(client.get(step_url(dossier, 1), headers=headers))
    assert 'id="company_name" name="company_name" aria-required="true" disabled' in body
    assert "Enregistrer le brouillon" not in body and "Étape suivante" in body
    assert f'href="/espaces/{lea.space.id}/dossiers/{dossier.id}">Voir le dossier' in body


def test_a_reader_reads_the_steps_and_cannot_post_another_space_sees_nothing(client, lea):
    dossier = new_dossier(lea)
    log_in(client, User.get(User.userid == "zoe"))
    body = text(client.get(step_url(dossier, 1)))
    assert "Consultation" in body and "disabled" in body and "Suivant" not in body
    eve = factories.user("eve", email="eve@example.lu")
    elsewhere = factories.space(eve, name="Chez Eve")
    before = fingerprint()
    assert post(client, lea, dossier, 1, factories.ACD_STEPS[1], "draft").status_code == 403
    log_in(client, eve)
    assert client.get(step_url(dossier, 1)).status_code == 404
    assert post(client, lea, dossier, 1, factories.ACD_STEPS[1], "draft").status_code == 404
    # her own space's URL with Léa's dossier: not found either
    other = f"/espaces/{elsewhere.id}/dossiers/{dossier.id}/etapes/1"
    assert client.get(other).status_code == 404
    form = {"csrf_token": lea.token, "version": "0", "action": "draft", **factories.ACD_STEPS[1]}
    assert client.post(other, data=form).status_code == 404
    assert fingerprint() == before


@WAYS
def test_the_last_step_leads_to_the_signature_and_may_fill_the_vault(client, lea, headers, partial):
    dossier = new_dossier(lea, step=2)
    body = text(client.get(step_url(dossier, 3)))
    assert "Enregistrer ces informations dans Mes données professionnelles" in body
    response = post(client, lea, dossier, 3, {**factories.ACD_STEPS[3], "to_vault": "1"}, headers=headers)
    sign = f"/espaces/{lea.space.id}/dossiers/{dossier.id}/signer"
    if headers:  # htmx, boosted or not: a full load of the signature
        assert response.status_code == 200 and response.headers["HX-Redirect"] == sign
    else:
        assert response.status_code == 303 and response.headers["Location"] == sign
    assert {e.key for e in VaultEntry.select()} == {"contact.person", "contact.email"}
    assert "2 informations enregistrées dans Mes données professionnelles." in text(client.get(sign))
    assert client.get(sign).status_code == 200


# --- Files ----------------------------------------------------------------------------------


def upload(content, name="pv.pdf"):
    from io import BytesIO

    return (BytesIO(content), name)


@WAYS
def test_a_file_is_uploaded_at_its_step(client, lea, headers, partial):
    dossier = new_dossier(lea, "itm-elections-sociales", step=3)
    body = text(client.get(step_url(dossier, 4)))
    assert 'enctype="multipart/form-data"' in body and 'accept=".pdf,application/pdf"' in body
    form = {"contact_email": "paie@guichet.lu", "minutes": upload(factories.PDF, "PV 2026.pdf")}
    response = post(client, lea, dossier, 4, form, "draft", headers, content_type="multipart/form-data")
    assert response.status_code == (200 if partial else 303)
    stored = DossierFile.get()
    assert (stored.name, stored.content_type) == ("PV 2026.pdf", "application/pdf")
    assert "Fichier joint : PV 2026.pdf" in text(client.get(step_url(dossier, 4)))


def test_a_file_is_checked_by_content_and_size(client, lea):
    dossier = new_dossier(lea, "itm-elections-sociales", step=3)
    before = fingerprint()
    for content, message in [
        (factories.PNG, "Le fichier doit être un PDF (vérifié d'après son contenu)."),
        (b"MZ\x90\x00 pas un PDF", "Le fichier doit être un PDF (vérifié d'après son contenu)."),
        (factories.PDF + b"0" * (10 * 1024 * 1024), "Le fichier dépasse 10 Mo."),
    ]:
        form = {"contact_email": "paie@guichet.lu", "minutes": upload(content)}
        response = post(client, lea, dossier, 4, form, content_type="multipart/form-data")
        body = text(response)
        assert response.status_code == 422 and f'id="minutes-error">{message}</p>' in body
    assert fingerprint() == before


def test_a_request_larger_than_a_dossier_may_hold_is_refused_before_reading_it(client, lea):
    dossier = new_dossier(lea, "itm-elections-sociales", step=3)
    form = {"minutes": upload(factories.PDF + b"0" * (52 * 1024 * 1024))}
    response = post(client, lea, dossier, 4, form, content_type="multipart/form-data")
    assert response.status_code == 413 and DossierFile.select().count() == 0
