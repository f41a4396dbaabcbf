"""The login and registration pages over HTTP: htmx partial, plain post, boosted page."""

import re

import pytest

import factories
from helpers import BOOSTED, HTMX, csrf_token
from models import OutboxMail, User


def token_of(client, path="/connexion/token"):
    return csrf_token(client.get(path, follow_redirects=True).get_data(as_text=True))


def post(client, path, data, headers=None):
    return client.post(
        path, data={**data, "csrf_token": token_of(client, "/connexion/token")}, headers=headers or {}
    )


def login(client, userid="lea", password=factories.PASSWORD, code=None):
    post(client, "/connexion/token", {"userid": userid})
    post(client, "/connexion/token/mot-de-passe", {"password": password})
    return post(client, "/connexion/token/otp", {"otp": code or factories.otp()})


@pytest.mark.parametrize(
    "headers, status, partial",
    [({}, 303, None), (HTMX, 200, True), (BOOSTED, 200, False)],
    ids=["plain", "htmx", "boosted"],
)
def test_userid_step_three_ways(client, headers, status, partial):
    response = post(client, "/connexion/token", {"userid": "lea"}, headers)
    assert response.status_code == status
    if headers:
        assert response.headers["HX-Redirect"] == "/connexion/token/mot-de-passe"
    else:
        assert response.headers["Location"] == "/connexion/token/mot-de-passe"


@pytest.mark.parametrize(
    "headers, full_page", [({}, True), (HTMX, False), (BOOSTED, True)], ids=["plain", "htmx", "boosted"]
)
def test_wrong_password_renders_the_card_with_its_error(client, clock, headers, full_page):
    factories.user()
    post(client, "/connexion/token", {"userid": "lea"})
    response = post(client, "/connexion/token/mot-de-passe", {"password": "not the password"}, headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "UserID ou mot de passe incorrect." in html
    assert ("<!doctype html>" in html) is full_page
    assert 'id="auth-card"' in html


def test_password_page_shows_the_secret_image_and_same_for_unknown(client, clock):
    factories.user()
    post(client, "/connexion/token", {"userid": "lea"})
    assert "/static/img/secret/voilier.svg" in client.get("/connexion/token/mot-de-passe").get_data(
        as_text=True
    )
    post(client, "/connexion/token", {"userid": "nobody"})
    page = client.get("/connexion/token/mot-de-passe").get_data(as_text=True)
    assert re.search(r"/static/img/secret/\w+\.svg", page)
    response = post(client, "/connexion/token/mot-de-passe", {"password": "whatever at all"})
    assert response.status_code == 401 and "UserID ou mot de passe incorrect." in response.get_data(
        as_text=True
    )


def test_full_login_opens_a_new_session(client, clock):
    factories.user()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = login(client)
    assert response.status_code == 303 and response.headers["Location"] == "/mon-espace"
    with client.session_transaction() as session:
        assert "planted" not in session  # a fresh session at login
    assert "Léa Guichet" in client.get("/").get_data(as_text=True)


def test_wrong_otp_then_429_with_time_to_wait(client, clock):
    factories.user()
    post(client, "/connexion/token", {"userid": "lea"})
    post(client, "/connexion/token/mot-de-passe", {"password": factories.PASSWORD})
    for _ in range(10):
        response = post(client, "/connexion/token/otp", {"otp": "000000"}, HTMX)
        assert response.status_code == 401
    response = post(client, "/connexion/token/otp", {"otp": factories.otp()}, HTMX)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "900"
    assert "réessayer dans 15 minutes." in response.get_data(as_text=True)


def test_otp_step_expires_after_five_minutes(client, clock):
    factories.user()
    post(client, "/connexion/token", {"userid": "lea"})
    post(client, "/connexion/token/mot-de-passe", {"password": factories.PASSWORD})
    clock.advance(minutes=5, seconds=1)
    response = post(client, "/connexion/token/otp", {"otp": factories.otp()})
    assert response.headers["Location"] == "/connexion/token"


def test_logout_revokes_the_session(client, clock):
    factories.user()
    login(client)
    with client.session_transaction() as session:
        stolen = dict(session)
    post(client, "/deconnexion", {})
    with client.session_transaction() as session:
        session.update(stolen)  # replaying the old cookie
    assert client.get("/compte").status_code == 303


def test_pages_need_login_and_next_is_kept(client, clock):
    factories.user()
    response = client.get("/compte")
    assert response.status_code == 303 and response.headers["Location"] == "/connexion"
    response = login(client)
    assert response.headers["Location"] == "/compte"


DETAILS = factories.REGISTRATION_DETAILS


def test_portal_stays_closed_until_email_confirmed_and_terms_accepted(app, client, clock):
    factories.user(registered=False)
    response = login(client)
    assert response.headers["Location"] == "/inscription/enregistrement"
    assert client.get("/compte").headers["Location"] == "/inscription/enregistrement"
    response = post(
        client,
        "/inscription/enregistrement",
        {**DETAILS, "matricule": "1983081974926"},  # a wrong check digit
        HTMX,
    )
    assert response.status_code == 422
    assert (
        "contrôle" in response.get_data(as_text=True) or "invalide" in response.get_data(as_text=True).lower()
    )
    assert OutboxMail.select().count() == 0
    response = post(
        client,
        "/inscription/enregistrement",
        DETAILS,
    )
    assert response.headers["Location"] == "/inscription/courriel"
    assert client.get("/compte").headers["Location"] == "/inscription/courriel"

    link = re.search(r"http://localhost(/inscription/confirmer/\S+)", OutboxMail.get().body_text).group(1)
    assert "Valider mon enregistrement" in client.get(link).get_data(as_text=True)
    confirmed = post(client, link, {})
    assert "Vous devez vous authentifier une nouvelle fois." in confirmed.get_data(as_text=True)
    again = post(client, link, {})
    assert again.status_code == 410 and "déjà été utilisé" in again.get_data(as_text=True)

    clock.advance(seconds=30)
    assert login(client).headers["Location"] == "/cgu"
    refused = post(client, "/cgu", {}, HTMX)
    assert refused.status_code == 422 and "Il faut accepter les conditions" in refused.get_data(as_text=True)
    accepted = post(client, "/cgu", {"accept": "y"})
    assert accepted.headers["Location"] == "/mon-espace"
    assert "Vous êtes maintenant enregistré" in client.get("/").get_data(as_text=True)
    assert client.get("/compte").status_code == 200


def test_terms_changed_since_the_last_visit_are_asked_again_saying_so(app, client, clock):
    factories.user()
    CHANGED = "ont changé depuis votre dernière visite"
    assert login(client).headers["Location"] == "/mon-espace"
    assert CHANGED not in client.get("/cgu").get_data(as_text=True)
    app.config["TERMS_VERSION"] = "2099-01"
    assert client.get("/compte").headers["Location"] == "/cgu"
    assert CHANGED in client.get("/cgu").get_data(as_text=True)


def test_expired_link_page_offers_a_new_link(client, clock):
    factories.user(registered=False)
    login(client)
    post(client, "/inscription/enregistrement", DETAILS)
    link = re.search(r"http://localhost(/inscription/confirmer/\S+)", OutboxMail.get().body_text).group(1)
    clock.advance(hours=72, seconds=1)
    response = client.get(link)
    assert response.status_code == 410
    assert "Ce lien a expiré." in response.get_data(
        as_text=True
    ) and "Recevoir un nouveau lien" in response.get_data(as_text=True)
    resent = post(client, link + "/nouveau-lien", {})
    assert resent.status_code == 200 and OutboxMail.select().count() == 2


def test_tampered_link_page(client):
    response = client.get("/inscription/confirmer/not-a-real-token")
    assert response.status_code == 400 and "Ce lien n&#39;est pas valide." in response.get_data(as_text=True)


def test_enrolment_pages(client, clock):
    response = post(
        client,
        "/inscription",
        {"userid": "lea", "password": "short", "password_confirm": "short", "secret_image": "chat"},
        HTMX,
    )
    assert response.status_code == 422 and "au moins 12 caractères" in response.get_data(as_text=True)
    response = post(
        client,
        "/inscription",
        {
            "userid": "lea",
            "password": factories.PASSWORD,
            "password_confirm": factories.PASSWORD,
            "secret_image": "chat",
        },
    )
    assert response.headers["Location"] == "/inscription/token"
    page = client.get("/inscription/token").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7-]+)<', page).group(1).replace("-", "")
    qr = client.get("/inscription/token/qr.svg")
    assert qr.headers["Content-Type"] == "image/svg+xml"
    assert b'<svg xmlns="http://www.w3.org/2000/svg"' in qr.data  # a document an <img> can load
    wrong = post(client, "/inscription/token", {"otp": "000000"}, HTMX)
    assert wrong.status_code == 401
    done = post(client, "/inscription/token", {"otp": factories.otp(secret)})
    assert done.headers["Location"] == "/inscription/enregistrement"
    assert User.get().userid == "lea"


def test_forgot_password_answers_alike(client, clock):
    factories.user()
    known = post(client, "/mot-de-passe-oublie", {"identifier": "lea"}).get_data(as_text=True)
    unknown = post(client, "/mot-de-passe-oublie", {"identifier": "nobody"}).get_data(as_text=True)
    strip = lambda html: re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"', "", html)  # noqa: E731
    assert strip(known) == strip(unknown)
    assert OutboxMail.select().count() == 1


def registered_and_logged_in(client):
    """A person who filled in Enregistrement and waits for the mail: the code's page."""
    factories.user(registered=False)
    login(client)
    post(client, "/inscription/enregistrement", DETAILS)
    return re.search(r"Code de sécurité : (\S+)", OutboxMail.get().body_text).group(1)


@pytest.mark.parametrize(
    "headers, full_page", [({}, True), (HTMX, False), (BOOSTED, True)], ids=["plain", "htmx", "boosted"]
)
def test_a_wrong_security_code_on_the_confirmation_page(client, clock, headers, full_page):
    registered_and_logged_in(client)
    page = client.get("/inscription/courriel").get_data(as_text=True)
    assert 'action="/inscription/courriel/code"' in page and "Code de sécurité" in page
    response = post(client, "/inscription/courriel/code", {"code": "ABCD-EFGH-JKMN"}, headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ce code de sécurité est incorrect." in html and 'id="auth-card"' in html
    assert ("<!doctype html>" in html) is full_page
    assert User.get().email_confirmed_at is None


@pytest.mark.parametrize("headers", [{}, HTMX, BOOSTED], ids=["plain", "htmx", "boosted"])
def test_the_security_code_confirms_on_the_confirmation_page(client, clock, headers):
    code = registered_and_logged_in(client)
    response = post(client, "/inscription/courriel/code", {"code": code}, headers)
    if headers:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/cgu"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/cgu"
    assert User.get().email_confirmed_at is not None
    assert "Votre adresse e-mail est confirmée." in client.get("/cgu").get_data(as_text=True)


def test_wrong_security_codes_are_throttled(client, clock):
    code = registered_and_logged_in(client)
    for _ in range(10):
        assert post(client, "/inscription/courriel/code", {"code": "ABCD-EFGH-JKMN"}, HTMX).status_code == 422
    response = post(client, "/inscription/courriel/code", {"code": code}, HTMX)
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert "réessayer dans 15 minutes." in response.get_data(as_text=True)
    empty = post(client, "/inscription/courriel/code", {"code": ""})
    assert empty.status_code == 422 and "Saisissez le code de sécurité" in empty.get_data(as_text=True)


def test_the_new_token_secret_never_travels_in_the_cookie(client, clock):
    factories.user()
    post(client, "/token-perdu", {"userid": "lea", "password": factories.PASSWORD})
    link = re.search(r"http://localhost(/token-perdu/\S+)", OutboxMail.get().body_text).group(1)
    page = client.get(link).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7-]+)<', page).group(1).replace("-", "")
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    assert client.get(link + "/qr.svg").headers["Content-Type"] == "image/svg+xml"
    assert secret.encode() not in client.get(link).headers.get("Set-Cookie", "").encode()
    assert post(client, link, {"otp": "000000"}, HTMX).status_code == 401
    done = post(client, link, {"otp": factories.otp(secret)})
    assert done.status_code == 303 and done.headers["Location"] == "/connexion/token"
    assert client.get(link).status_code == 410  # used


def test_account_page_throttles_the_current_password(client, clock):
    factories.user()
    login(client)
    change = {
        "current_password": "wrong password!",
        "password": "a brand new passphrase",
        "password_confirm": "a brand new passphrase",
    }
    for _ in range(10):
        assert post(client, "/compte", change, HTMX).status_code == 401
    response = post(client, "/compte", {**change, "current_password": factories.PASSWORD}, HTMX)
    assert response.status_code == 429 and response.headers["Retry-After"] == "900"
    assert "réessayer dans 15 minutes." in response.get_data(as_text=True)
