"""The "Espace professionnel impots" product: an account made from a signup, once; its
login by e-mail and password under the Token's throttling; Mon compte and the helpdesk's
unlock for such an account."""

import re
from datetime import timedelta

import pytest

import clock as app_clock
import factories
from helpers import HTMX, csrf_token
from models import AuthProduct, ImpotsSignup, OutboxMail, User
from services import auth, helpdesk, impots_accounts, throttle

PASSWORD = factories.PASSWORD


def _signup(email="anne.expert@example.fr", secret="ABCD2345", hours=48):
    return impots_accounts.start_signup(
        "expert",
        email,
        PASSWORD,
        secret,
        app_clock.now() + timedelta(hours=hours),
        first_name="Anne",
        last_name="Expert",
    )


def _account(email="anne.expert@example.fr"):
    user, _product = impots_accounts.complete_signup(_signup(email), "fr")
    return user


def test_a_signup_becomes_an_account_once(app):
    signup = _signup()
    assert impots_accounts.pending_signup("expert", "abcd-2345", "Anne.Expert@example.fr").id == signup.id
    user, product = impots_accounts.complete_signup(signup, "fr")
    assert (user.userid, user.email, product.kind) == ("anne.expert@example.fr",) * 2 + ("impots",)
    assert product.password_hash != PASSWORD and signup.secret_hash not in ("ABCD2345", "abcd2345")
    with pytest.raises(impots_accounts.SignupGone):
        impots_accounts.complete_signup(signup, "fr")
    with pytest.raises(impots_accounts.SignupGone):
        impots_accounts.pending_signup("expert", "ABCD2345", "anne.expert@example.fr")
    assert User.select().count() == 1


def test_a_new_signup_replaces_the_pending_one_and_one_email_has_one_account(app):
    _signup(secret="FIRST234")
    _signup(secret="SECND234")
    with pytest.raises(impots_accounts.SignupGone):
        impots_accounts.pending_signup("expert", "FIRST234")
    assert ImpotsSignup.select().count() == 1
    impots_accounts.complete_signup(impots_accounts.pending_signup("expert", "SECND234"), "fr")
    with pytest.raises(impots_accounts.EmailTaken):
        impots_accounts.complete_signup(_signup(email="ANNE.EXPERT@example.fr", secret="THIRD234"), "fr")
    assert AuthProduct.select().where(AuthProduct.kind == "impots").count() == 1


def test_a_signup_is_valid_until_its_deadline_exactly(app, clock):
    signup = _signup(hours=48)
    clock.advance(hours=48)
    assert impots_accounts.pending_signup("expert", "ABCD2345").id == signup.id
    clock.advance(seconds=1)
    with pytest.raises(impots_accounts.SignupExpired):
        impots_accounts.pending_signup("expert", "ABCD2345")
    with pytest.raises(impots_accounts.SignupGone):
        impots_accounts.complete_signup(signup, "fr")


def test_login_by_email_and_password_only_for_impots_accounts(app, request_context):
    user = _account()
    factories.user("lea")  # a Token: its password alone never logs in
    assert impots_accounts.login("Anne.Expert@example.fr", PASSWORD, "10.0.0.1").id == user.id
    wrong = (("anne.expert@example.fr", "wrong password!"), ("lea", PASSWORD), ("x@y.fr", "p"))
    for email, password in wrong:
        with pytest.raises(impots_accounts.InvalidCredentials) as refusal:
            impots_accounts.login(email, password, "10.0.0.1")
        assert refusal.value.status == 401


def test_ten_wrong_passwords_make_an_impots_account_wait_and_the_helpdesk_unlocks_it(app, request_context):
    _account()
    for _ in range(10):
        with pytest.raises(impots_accounts.InvalidCredentials):
            impots_accounts.login("anne.expert@example.fr", "wrong password!", "10.0.0.1")
    with pytest.raises(throttle.Throttled):
        impots_accounts.login("anne.expert@example.fr", PASSWORD, "10.0.0.1")
    person = helpdesk.find_person("anne.expert@example.fr")
    assert person.login.blocked and person.product.kind == "impots"
    assert helpdesk.unlock_person(factories.helpdesk(), "anne.expert@example.fr")
    assert impots_accounts.login("anne.expert@example.fr", PASSWORD, "10.0.0.1")


def test_an_impots_account_changes_its_password_in_mon_compte(app, request_context):
    user = _account()
    with pytest.raises(auth.InvalidCredentials):
        auth.change_password(user, "wrong password!", "another long passphrase", None, "10.0.0.1")
    auth.change_password(user, PASSWORD, "another long passphrase", None, "10.0.0.1")
    assert impots_accounts.login("anne.expert@example.fr", "another long passphrase", "10.0.0.1")


# --- Over HTTP: the login card, Mot de passe oublié ---------------------------------------------


def _post(client, path, data, headers=None):
    token = csrf_token(client.get("/impots/connexion").get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token}, headers=headers or {})


def test_connexion_lists_the_impots_product_and_its_login_opens_a_session(client):
    _account()
    listing = client.get("/connexion").get_data(as_text=True)
    assert "Espace professionnel impots" in listing and 'href="/impots/connexion"' in listing
    wrong = _post(
        client, "/impots/connexion", {"email": "anne.expert@example.fr", "password": "nope nope"}, HTMX
    )
    assert wrong.status_code == 401
    assert "Adresse électronique ou mot de passe incorrect." in wrong.get_data(as_text=True)
    done = _post(client, "/impots/connexion", {"email": "anne.expert@example.fr", "password": PASSWORD})
    assert done.status_code == 303
    assert "Anne Expert" in client.get(done.headers["Location"], follow_redirects=True).get_data(as_text=True)


def test_an_impots_account_resets_its_password_by_its_email_link_without_a_code(client, clock):
    _account()
    _post(client, "/mot-de-passe-oublie", {"identifier": "anne.expert@example.fr"})
    mail = OutboxMail.get()
    assert "application d'authentification" not in mail.body_text + mail.body_html
    link = re.search(r"http://localhost(/mot-de-passe-oublie/\S+)", mail.body_text).group(1)
    form = client.get(link).get_data(as_text=True)
    assert 'name="password_confirm"' in form and 'name="otp"' not in form
    new = {"password": "another long passphrase", "password_confirm": "another long passphrase"}
    done = _post(client, link, new)
    assert done.status_code == 303 and done.headers["Location"] == "/impots/connexion"
    assert impots_accounts.login("anne.expert@example.fr", "another long passphrase", "10.0.0.1")
    assert _post(client, link, new).status_code == 410  # the link died with the old password
