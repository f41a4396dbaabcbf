"""Créer mon espace professionnel over HTTP: each form as an htmx request, a plain post (303)
and a boosted one; the pages after (sent, link, created, numéro d'abonné); refusals beside
their field with 422; expired, used and forged links and codes (410) with their way forward;
the same answer whether or not an e-mail has an account; throttling (429)."""

import html
import re

import pytest

import factories
from helpers import BOOSTED, HTMX, csrf_token
from models import ImpotsSignup, Letter, OutboxMail, Space, User
from services import catalogue, impots_accounts

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)
PASSWORD = factories.PASSWORD


@pytest.fixture
def register(app, clock):
    catalogue.load()
    return factories.registered_company(**factories.BOULANGERIE_MARTIN)


def text(response):
    return html.unescape(response.get_data(as_text=True))


def post(client, url, data, headers=None):
    token = csrf_token(text(client.get(url)))
    return client.post(url, data={"csrf_token": token, **data}, headers=headers or {})


def went_to(response, headers):
    """Where a successful POST leads: HX-Redirect for htmx requests, a 303 otherwise. The
    response is closed, as a WSGI server closes it once sent: the queued mail leaves then."""
    response.close()
    if headers.get("HX-Request"):
        assert response.status_code == 200 and response.get_data() == b""
        return response.headers["HX-Redirect"]
    assert response.status_code == 303
    return response.headers["Location"]


def refused(response, partial, status=422):
    body = text(response)
    assert response.status_code == status, body
    assert ("<html" not in body) == partial
    if partial:
        assert body.lstrip().startswith('<section class="panel narrow" id="impots-card"')
    return body


SIMPLIFIED = {
    "siren": "732 829 320",
    "first_name": "Paul",
    "last_name": "Martin",
    "email": "paul.martin@example.fr",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "accept": "y",
}
EXPERT = {
    "email": "claire.expert@example.fr",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
    "first_name": "Claire",
    "last_name": "Expert",
    "accept": "y",
}


def test_the_way_in_from_connexion(client, register):
    for page in ("/connexion", "/impots/connexion"):
        body = text(client.get(page))
        assert 'href="/impots/creer"' in body and 'href="/impots/activer"' in body
    body = text(client.get("/impots/creer"))
    assert "Mode simplifié" in body and "Mode expert" in body
    assert "Pour une entreprise : vous en êtes le représentant légal ou un salarié." in body
    assert "Pour plusieurs entreprises : un expert-comptable, par exemple." in body
    assert "72 heures" in body and "60 jours" in body and "48 heures" in body and "numéro d'abonné" in body
    assert 'href="/impots/creer/simplifie"' in body and 'href="/impots/creer/expert"' in body
    partial = text(client.get("/impots/creer", headers=HTMX))
    assert "<html" not in partial and '<section class="panel" id="impots-card">' in partial


@WAYS
def test_simplified_from_the_form_to_the_space(client, register, smtp, headers, partial):
    form = text(client.get("/impots/creer/simplifie", headers=headers))
    assert ("<html" not in form) == partial and 'action="/impots/creer/simplifie"' in form
    response = post(client, "/impots/creer/simplifie", SIMPLIFIED, headers)
    assert went_to(response, headers) == "/impots/creer/envoye"
    body = text(client.get("/impots/creer/envoye", headers=headers))
    assert "à l'adresse électronique de l'entreprise, c•••@boulangerie-martin.fr." in body
    assert "jusqu'au samedi 28/03/2026 08:40" in body

    [mail] = smtp.wait_for(1)
    assert mail["To"] == "contact@boulangerie-martin.fr"
    link = re.search(
        r"http://localhost/impots/creer/lien/\w+", mail.get_body(("plain",)).get_content()
    ).group(0)
    path = link.removeprefix("http://localhost")
    page = text(client.get(path, headers=headers))
    assert "Paul Martin (paul.martin@example.fr) a demandé la création" in page
    assert "Boulangerie Martin SARL" in page and "732829320" in page and "Créer mon espace" in page
    assert Space.select().count() == 0  # following the link (GET) changes nothing

    token = csrf_token(page)
    response = client.post(path, data={"csrf_token": token}, headers=headers)
    assert went_to(response, headers) == "/impots/creer/termine"
    done = text(client.get("/impots/creer/termine", headers=headers))
    assert "L'espace professionnel « Boulangerie Martin SARL » est créé" in done
    assert "avant le 24/05/2026" in done and 'href="/impots/connexion"' in done
    assert Letter.select().count() == 1 and Space.get().identifier == "732829320"

    again = client.post(path, data={"csrf_token": token}, headers=headers)
    body = refused(again, partial, 410)
    assert "déjà servi" in body and 'href="/impots/connexion"' in body


@WAYS
def test_simplified_refusals_beside_their_field(client, register, headers, partial):
    factories.registered_company("443061841", name="Sans Courriel SAS", country="France")
    cases = [
        ({"siren": "732 829 321"}, "siren", "Numéro SIREN invalide"),
        ({"siren": "552100554"}, "siren", "contactez le Helpdesk pour faire ajouter l'entreprise"),
        ({"siren": "443061841"}, "siren", "Utilisez le Mode expert"),
        ({"email": "pas-une-adresse"}, "email", "Saisissez une adresse électronique valide"),
        ({"password": "court", "password_confirm": "court"}, "password", "au moins 12 caractères"),
        (
            {"password_confirm": "autre chose encore"},
            "password_confirm",
            "Les deux mots de passe sont différents",
        ),
        ({"accept": ""}, "accept", "Il faut accepter les conditions générales"),
        ({"siren": ""}, "siren", "Saisissez le numéro SIREN"),
    ]
    for change, field, message in cases:
        body = refused(post(client, "/impots/creer/simplifie", {**SIMPLIFIED, **change}, headers), partial)
        error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', body)
        assert error and message in error.group(1), (field, body)
        assert 'value="Paul"' in body  # kept to correct
    assert OutboxMail.select().count() == 0 and ImpotsSignup.select().count() == 0


def test_the_page_is_the_same_whether_the_email_has_an_account(client, register):
    def answer(email, siren="732829320"):
        client.get("/impots/creer")  # a fresh page
        response = post(client, "/impots/creer/simplifie", {**SIMPLIFIED, "email": email, "siren": siren})
        assert response.status_code == 303
        return re.sub(
            r'("X-CSRFToken": |name="csrf_token" value=)"[^"]+"',
            "",
            text(client.get(response.headers["Location"])),
        )

    new = answer("nouveau@example.fr")
    ImpotsSignup.delete().execute()
    factories_account("paul.martin@example.fr")
    existing = answer("paul.martin@example.fr")
    assert new == existing
    assert OutboxMail.select().order_by(OutboxMail.id.desc()).get().to == "paul.martin@example.fr"
    assert ImpotsSignup.select().where(ImpotsSignup.completed_at.is_null()).count() == 0


def factories_account(email):
    """An impots account for `email`, made by the Mode expert's way."""
    from flask import current_app

    from services import impots_signup

    with current_app.test_request_context():
        impots_signup.request_expert(email, PASSWORD, "Paul", "Martin", True, "fr")
    code = re.search(
        r"Votre code d'activation : (\S+)", OutboxMail.select().order_by(OutboxMail.id.desc()).get().body_text
    )
    with current_app.test_request_context():
        impots_signup.activate_expert(email, code.group(1), "fr")


@WAYS
def test_expired_used_and_forged_links(client, register, clock, headers, partial):
    post(client, "/impots/creer/simplifie", SIMPLIFIED)
    path = re.search(r"/impots/creer/lien/\w+", OutboxMail.get().body_text).group(0)
    clock.advance(hours=72, seconds=1)
    body = refused(client.get(path, headers=headers), partial, 410)
    assert "Le délai pour utiliser ce lien ou ce code est dépassé" in body
    assert 'href="/impots/creer/simplifie"' in body and "Recommencer" in body
    body = refused(
        client.post(
            path,
            data={"csrf_token": csrf_token(text(client.get("/impots/creer/simplifie")))},
            headers=headers,
        ),
        partial,
        410,
    )
    assert "Recommencer" in body and Space.select().count() == 0
    body = refused(client.get("/impots/creer/lien/ABCDEFGH", headers=headers), partial, 410)
    assert "il a déjà servi, ou une demande plus récente l'a remplacé" in body
    assert 'href="/impots/connexion"' in body


@WAYS
def test_expert_from_the_form_to_the_subscriber_number(client, register, smtp, headers, partial):
    response = post(client, "/impots/creer/expert", EXPERT, headers)
    assert went_to(response, headers) == "/impots/creer/envoye"
    body = text(client.get("/impots/creer/envoye", headers=headers))
    assert (
        "Un courriel contenant votre code d'activation a été envoyé à l'adresse claire.expert@example.fr."
        in body
    )
    assert "jusqu'au vendredi 27/03/2026 08:40" in body and 'href="/impots/activer"' in body
    [mail] = smtp.wait_for(1)
    code = re.search(r"Votre code d'activation : (\S+)", mail.get_body(("plain",)).get_content()).group(1)

    body = refused(
        post(client, "/impots/activer", {"email": EXPERT["email"], "code": "AAAA-AAAA"}, headers), partial
    )
    assert re.search(r'<p class="field-error" id="code-error">Ce code d\'activation ne correspond pas', body)
    response = post(client, "/impots/activer", {"email": EXPERT["email"], "code": code}, headers)
    assert went_to(response, headers) == "/impots/creer/termine"
    done = text(client.get("/impots/creer/termine", headers=headers))
    number = Space.get().subscriber_number
    assert f'<strong class="access-code" id="subscriber-number">{number}</strong>' in done
    assert "Espace abonné Claire Expert" in done and 'href="/impots/connexion"' in done

    again = refused(
        post(client, "/impots/activer", {"email": EXPERT["email"], "code": code}, headers), partial, 410
    )
    assert "déjà servi" in again and User.select().count() == 1


@WAYS
def test_expert_refusals(client, register, clock, headers, partial):
    body = refused(
        post(client, "/impots/creer/expert", {**EXPERT, "email": "x" * 60 + "@example.fr"}, headers), partial
    )
    assert (
        '<p class="field-error" id="email-error">Une adresse électronique de connexion compte au plus 64'
        in body
    )
    body = refused(post(client, "/impots/activer", {"email": "", "code": ""}, headers), partial)
    assert 'id="email-error"' in body and 'id="code-error"' in body

    post(client, "/impots/creer/expert", EXPERT)
    code = re.search(r"Votre code d'activation : (\S+)", OutboxMail.get().body_text).group(1)
    clock.advance(hours=48, seconds=1)
    body = refused(
        post(client, "/impots/activer", {"email": EXPERT["email"], "code": code}, headers), partial, 410
    )
    assert "Le délai pour utiliser ce lien ou ce code est dépassé" in body
    assert 'href="/impots/creer/expert"' in body and "Recommencer" in body
    assert Space.select().count() == 0


def test_wrong_codes_wait_after_ten(client, register, clock):
    post(client, "/impots/creer/expert", EXPERT)
    code = re.search(r"Votre code d'activation : (\S+)", OutboxMail.get().body_text).group(1)
    for _ in range(10):
        response = post(client, "/impots/activer", {"email": EXPERT["email"], "code": "AAAA-AAAA"})
        assert response.status_code == 422
    response = post(client, "/impots/activer", {"email": EXPERT["email"], "code": code})
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert "Veuillez réessayer dans 15 minutes" in text(response)
    clock.advance(minutes=15)
    assert post(client, "/impots/activer", {"email": EXPERT["email"], "code": code}).status_code == 303


def test_sending_too_often_is_429(client, register):
    for n in range(3):
        assert (
            post(client, "/impots/creer/simplifie", {**SIMPLIFIED, "email": f"p{n}@example.fr"}).status_code
            == 303
        )
    response = post(client, "/impots/creer/simplifie", {**SIMPLIFIED, "email": "p9@example.fr"})
    assert response.status_code == 429 and response.headers["Retry-After"] == str(24 * 3600)
    assert "trop souvent" in text(response) and OutboxMail.select().count() == 3


def test_the_pages_after_need_their_step(client, register):
    for page in ("/impots/creer/envoye", "/impots/creer/termine"):
        response = client.get(page)
        assert response.status_code == 302 and response.headers["Location"] == "/impots/creer"


def test_a_person_logged_in_is_sent_on(client, register):
    from helpers import log_in

    log_in(client, factories.user("lea"))
    for page in ("/impots/creer/simplifie", "/impots/creer/expert"):
        assert client.get(page).status_code == 302


def test_the_new_account_logs_in(client, register):
    factories_account("claire.expert@example.fr")
    assert impots_accounts.account_exists("claire.expert@example.fr")
    response = post(client, "/impots/connexion", {"email": "claire.expert@example.fr", "password": PASSWORD})
    assert response.status_code == 303
    home = text(client.get("/espaces", follow_redirects=True))
    assert "Espace abonné Paul Martin" in home
