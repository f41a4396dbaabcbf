"""Connexion with "Espace professionnel impots" over HTTP: e-mail and password in one step,
as an htmx request, a plain post and a boosted one; a wrong password and an unknown e-mail
get the same answer; ten wrong passwords make the account wait (429)."""

import html
import re

import pytest

import factories
from helpers import BOOSTED, HTMX, csrf_token
from models import UserSession

WAYS = pytest.mark.parametrize(
    "headers, partial", [({}, False), (HTMX, True), (BOOSTED, False)], ids=["plain", "htmx", "boosted"]
)


@pytest.fixture
def claire(app, clock):
    return factories.impots_user("claire.expert@example.fr", first_name="Claire")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def without_tokens(body):
    """A page less its CSRF tokens, which carry the second they were made."""
    return re.sub(r'("X-CSRFToken": |name="csrf_token" value=)"[^"]+"', "", body)


def log_in(client, email, password=factories.PASSWORD, headers=None):
    token = csrf_token(text(client.get("/impots/connexion")))
    return client.post(
        "/impots/connexion",
        data={"csrf_token": token, "email": email, "password": password},
        headers=headers or {},
    )


@WAYS
def test_the_right_password_opens_a_session(client, claire, headers, partial):
    form = text(client.get("/impots/connexion", headers=headers))
    assert ("<html" not in form) == partial and 'action="/impots/connexion"' in form
    response = log_in(client, "Claire.Expert@example.fr", headers=headers)
    if headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/mon-espace"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/mon-espace"
    assert UserSession.select().where(UserSession.user == claire).count() == 1
    assert "Claire Expert" in text(client.get("/mon-espace", follow_redirects=True))


@WAYS
def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(client, claire, headers, partial):
    wrong = log_in(client, "claire.expert@example.fr", "pas le bon mot de passe", headers)
    unknown = log_in(client, "personne@example.fr", factories.PASSWORD, headers)
    for response in (wrong, unknown):
        body = text(response)
        assert response.status_code == 401 and ("<html" not in body) == partial
        assert "Adresse électronique ou mot de passe incorrect." in body
    wrong, unknown = (without_tokens(text(response)) for response in (wrong, unknown))
    assert wrong.replace("claire.expert@example.fr", "personne@example.fr") == unknown
    assert UserSession.select().count() == 0


def test_a_token_userid_is_not_an_impots_account(client, app, clock):
    factories.user("lea")
    response = log_in(client, "lea", factories.PASSWORD)
    assert response.status_code == 401 and "Adresse électronique ou mot de passe incorrect." in text(response)
    assert UserSession.select().count() == 0


def test_ten_wrong_passwords_make_the_account_wait(client, claire, clock):
    for _ in range(10):
        assert log_in(client, "claire.expert@example.fr", "pas le bon mot de passe").status_code == 401
    response = log_in(client, "claire.expert@example.fr")
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert "Veuillez réessayer dans 15 minutes" in text(response)
    clock.advance(minutes=15)
    assert log_in(client, "claire.expert@example.fr").status_code == 303


def test_an_unknown_email_waits_alike(client, app, clock):
    for _ in range(10):
        assert log_in(client, "personne@example.fr", "pas le bon mot de passe").status_code == 401
    response = log_in(client, "personne@example.fr")
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
