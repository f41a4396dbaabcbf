"""The back-office login over HTTP: password then one-time code, the
enrolment forced at the first login, server-side sessions that a copied cookie does not
outlive, and no back-office page for an agent half-way through the login."""

import html
import json
import re
from collections import defaultdict

import pytest

import factories
from helpers import HTMX, agent_log_in, csrf_token
from models import Agent, CertificationRequest, Service
from services import agents, auth, catalogue

LOGIN = "/back-office/connexion"


def text(response):
    return html.unescape(response.get_data(as_text=True))


def post(client, path, data, headers=None):
    token = csrf_token(client.get(LOGIN).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token}, headers=headers or {})


def password_step(client, userid="agent.alva", password=factories.AGENT_PASSWORD):
    return post(client, LOGIN, {"userid": userid, "password": password})


@pytest.fixture
def world(app, clock):
    catalogue.load()
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    request_ = CertificationRequest.create(
        space=space,
        service=Service.get(slug="securite-alimentaire"),
        requested_by=lea,
        reason="Nous exploitons une boulangerie.",
        attachment=b"%PDF-1.4\n",
        attachment_type="application/pdf",
        attachment_name="permis.pdf",
    )
    return request_


@pytest.fixture
def new_agent(world, app):
    """An agent as create-agent leaves it: the second factor is enrolled at the first login."""
    with app.test_request_context():
        return agents.create_agent("ALVA", "agent.alva", "Agnès Agent", "", factories.AGENT_PASSWORD)


def test_first_login_forces_the_enrolment_of_the_second_factor(client, new_agent, clock):
    response = password_step(client)
    assert response.status_code == 303 and response.headers["Location"] == LOGIN + "/activation"
    assert client.get(LOGIN + "/code").headers["Location"] == LOGIN + "/activation"
    assert client.get("/back-office").headers["Location"] == LOGIN  # no session before the code

    page = text(client.get(LOGIN + "/activation"))
    shown = re.search(r'id="totp-secret">([A-Z2-7-]+)<', page).group(1).replace("-", "")
    assert shown == auth.totp_secret(Agent.get()) and f'src="{LOGIN}/activation/qr.svg"' in page
    with client.session_transaction() as session:
        assert shown not in json.dumps(dict(session))  # the secret waits in the database only
    qr = client.get(LOGIN + "/activation/qr.svg")
    assert qr.headers["Content-Type"] == "image/svg+xml" and qr.headers["Cache-Control"] == "no-store"
    assert b'<svg xmlns="http://www.w3.org/2000/svg"' in qr.data  # a document an <img> renders

    wrong = post(client, LOGIN + "/activation", {"otp": "000000"})
    assert wrong.status_code == 401 and "Le code à 6 chiffres est incorrect" in text(wrong)
    assert Agent.get().enrolled_at is None
    done = post(client, LOGIN + "/activation", {"otp": factories.otp(shown)})
    assert done.status_code == 303 and done.headers["Location"] == "/back-office"
    assert Agent.get().enrolled_at == clock.now()
    assert "Nous exploitons une boulangerie." in text(client.get("/back-office"))

    # Later logins ask for the code; the enrolled secret is never shown again.
    other = client.application.test_client()
    assert password_step(other).headers["Location"] == LOGIN + "/code"
    assert other.get(LOGIN + "/activation").headers["Location"] == LOGIN + "/code"
    assert other.get(LOGIN + "/activation/qr.svg").status_code == 404


def test_login_with_the_code_and_replay_refused(client, app, world, clock):
    factories.agent()
    response = password_step(client)
    assert response.headers["Location"] == LOGIN + "/code"
    form = client.get(LOGIN + "/code")
    assert form.status_code == 200 and 'autocomplete="one-time-code"' in form.get_data(as_text=True)
    assert post(client, LOGIN + "/code", {"otp": factories.otp()}).headers["Location"] == "/back-office"

    other = app.test_client()  # someone who saw the code and the password
    password_step(other)
    replay = post(other, LOGIN + "/code", {"otp": factories.otp()}, HTMX)
    assert replay.status_code == 401 and "a déjà été utilisé" in text(replay)
    assert other.get("/back-office").headers["Location"] == LOGIN


def test_a_copied_cookie_stops_working_at_logout(client, app, world, clock):
    factories.agent()
    assert agent_log_in(client).headers["Location"] == "/back-office"
    cookie = app.config["SESSION_COOKIE_NAME"]
    copy = app.test_client()
    copy.set_cookie(cookie, client.get_cookie(cookie).value)
    assert copy.get("/back-office").status_code == 200  # the copy works while the session lives

    token = csrf_token(client.get("/back-office").get_data(as_text=True))
    assert client.post("/back-office/deconnexion", data={"csrf_token": token}).headers["Location"] == LOGIN
    assert copy.get("/back-office").headers["Location"] == LOGIN
    assert client.get("/back-office").headers["Location"] == LOGIN


def test_sessions_end_after_30_minutes_idle_and_12_hours(client, world, clock):
    factories.agent()
    agent_log_in(client)
    clock.advance(minutes=29, seconds=59)
    assert client.get("/back-office").status_code == 200
    clock.advance(minutes=30)
    assert client.get("/back-office").headers["Location"] == LOGIN

    agent_log_in(client)
    for _ in range(24):  # active every 29 minutes, for 11 h 36
        clock.advance(minutes=29)
        assert client.get("/back-office").status_code == 200
    clock.advance(minutes=25)  # 12 h 01 after login
    assert client.get("/back-office").headers["Location"] == LOGIN


def back_office_pages(app, world):
    """Every back-office URL but the login's own, with a real request's id (a dossier's
    need not exist: the session is checked first)."""
    public = {"backoffice.login", "backoffice.login_code", "backoffice.enrol", "backoffice.enrol_qr"}
    values = defaultdict(lambda: 3, request_id=world.id, dossier_id=7, decision="accepter", number=1)
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("backoffice.") and rule.endpoint not in public:
            url = adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_an_agent_half_way_through_the_login_opens_no_back_office_page(client, app, world, clock):
    factories.agent()
    password_step(client)  # the password is right; no code yet
    pages = list(back_office_pages(app, world))
    assert {url for _method, url in pages} >= {
        "/back-office",
        "/back-office/deconnexion",
        f"/back-office/demandes/{world.id}",
        f"/back-office/demandes/{world.id}/piece-jointe",
        "/back-office/dossiers",
        "/back-office/dossiers/7",
        "/back-office/dossiers/7/accepter",
        "/back-office/dossiers/7/messages",
        "/back-office/dossiers/7/accuses/1",
        "/back-office/dossiers/7/fichiers/3",
    }
    token = csrf_token(client.get(LOGIN + "/code").get_data(as_text=True))
    for method, url in pages:
        response = client.open(url, method=method, data={"decision": "approve", "csrf_token": token})
        assert (response.status_code, response.headers.get("Location")) == (303, LOGIN), (method, url)
    assert CertificationRequest.get_by_id(world.id).status == "pending"
    # The same pages open once the code is given.
    assert post(client, LOGIN + "/code", {"otp": factories.otp()}).headers["Location"] == "/back-office"
    assert client.get(f"/back-office/demandes/{world.id}/piece-jointe").status_code == 200


def test_the_code_step_lasts_five_minutes(client, world, clock):
    factories.agent()
    password_step(client)
    clock.advance(minutes=5, seconds=1)
    response = post(client, LOGIN + "/code", {"otp": factories.otp()})
    assert response.headers["Location"] == LOGIN
    assert "Veuillez vous authentifier à nouveau." in text(client.get(LOGIN))


def test_wrong_codes_wait_then_lock(client, world, clock):
    factories.agent()
    password_step(client)
    for _ in range(10):
        assert post(client, LOGIN + "/code", {"otp": "000000"}).status_code == 401
    waited = post(client, LOGIN + "/code", {"otp": factories.otp()})
    assert waited.status_code == 429 and waited.headers["Retry-After"] == "900"
    assert "réessayer dans 15 minutes" in text(waited)
    for _ in range(9):
        clock.advance(minutes=15)
        for _ in range(10):
            password_step(client, password="pas le bon mot de passe")
    locked = password_step(client)
    assert locked.status_code == 423 and "Contactez le Helpdesk" in text(locked)
    assert client.get("/back-office").headers["Location"] == LOGIN


# --- Roles: an administration's agents, the portal's helpdesk --------------------------------


def test_create_agent_makes_a_helpdesk_without_administration(runner, world):
    env = {"AGENT_PASSWORD": factories.AGENT_PASSWORD}
    result = runner.invoke(args=["create-agent", "--role", "helpdesk", "helene", "--name", "Hélène"], env=env)
    assert result.exit_code == 0, result.output
    helpdesk = Agent.get(Agent.userid_key == "helene")
    assert (helpdesk.role, helpdesk.administration_id, helpdesk.display_name) == (
        "helpdesk",
        None,
        "Hélène (Helpdesk)",
    )
    # A helpdesk serves every administration: naming one is a usage error, as is an agent without.
    wrong = runner.invoke(args=["create-agent", "--role", "helpdesk", "ACD", "x", "--name", "X"], env=env)
    alone = runner.invoke(args=["create-agent", "lonely", "--name", "X"], env=env)
    assert (wrong.exit_code, alone.exit_code) == (2, 2) and Agent.select().count() == 1


def test_each_role_opens_its_own_sections_only(client, world, clock):
    factories.agent()
    factories.helpdesk()
    assert agent_log_in(client, "helpdesk").headers["Location"] == "/back-office/helpdesk/catalogue"
    assert client.get("/back-office").headers["Location"] == "/back-office/helpdesk/catalogue"
    for url in ("/back-office/dossiers", "/back-office/codes-d-acces", "/back-office/communications"):
        assert client.get(url).status_code == 403, url
    assert client.get("/back-office/courriers").status_code == 200
    page = text(client.get("/back-office/helpdesk/journal"))
    assert "Hélène Helpdesk (Helpdesk)" in page and "Journal d'audit" in page and "Dossiers" not in page
    clock.advance(seconds=30)  # the next login's code

    client.post("/back-office/deconnexion", data={"csrf_token": csrf_token(page)})
    assert agent_log_in(client).headers["Location"] == "/back-office"
    for section in ("catalogue", "journal", "contacts"):
        assert client.get(f"/back-office/helpdesk/{section}").status_code == 403, section
    page = text(client.get("/back-office"))
    assert "Agnès Agent (ALVA)" in page and "Codes d'accès" in page and "Journal d'audit" not in page


def test_an_error_in_the_back_office_leads_back_to_it(client, world):
    factories.agent()
    agent_log_in(client)
    page = text(client.get("/back-office/dossiers/999999"))
    assert 'href="/back-office"' in page and "Retour au back-office" in page
    assert "Retour au back-office" not in text(client.get("/nulle-part"))
