"""`load-scale`, the benchmarks' dataset: exactly the rows asked for, credentials that log in
through the real login pages, pages of the space that list the rows, and space pages that run
as many queries on a small dataset as on a larger one."""

import html
import re

import pyotp
import pytest

import clock
from helpers import agent_log_in, count_queries, csrf_token, log_in
from models import (
    AccessCode,
    Agent,
    AuthProduct,
    Certification,
    CommunicationRecipient,
    Dossier,
    DossierEvent,
    Mandate,
    Membership,
    ReferenceCounter,
    Space,
    User,
)
from services import procedure_values, procedures, receipts, scale, spaces

SMALL = {"mandates": 12, "dossiers": 60, "members": 8, "communications": 7}
SECRET = re.compile(r"^[A-Z2-7]{32}$")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def load(runner, *args):
    result = runner.invoke(args=["load-scale", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def credentials(lines):
    """The `key: value` lines the command ends with, as the benchmark reads them."""
    keys = ("Space", "Dossier", "Agent administration", "Agent UserID", "Agent password")
    keys += ("Agent TOTP secret", "UserID", "Password", "TOTP secret")
    pairs = [line.split(": ", 1) for line in lines[-len(keys) :]]
    assert [key for key, _value in pairs] == list(keys)
    return dict(pairs)


def post_form(client, path, data):
    token = csrf_token(client.get(path, follow_redirects=True).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def person_login(client, userid, password, secret):
    post_form(client, "/connexion/token", {"userid": userid})
    post_form(client, "/connexion/token/mot-de-passe", {"password": password})
    return post_form(client, "/connexion/token/otp", {"otp": pyotp.TOTP(secret).at(clock.timestamp())})


def agent_login(client, userid, password, secret):
    post_form(client, "/back-office/connexion", {"userid": userid, "password": password})
    page = client.get("/back-office/connexion/code")
    assert page.status_code == 200, page.status_code
    return client.post(
        "/back-office/connexion/code",
        data={"otp": pyotp.TOTP(secret).at(clock.timestamp()), "csrf_token": csrf_token(text(page))},
    )


def test_the_dataset_has_exactly_the_rows_asked_and_its_person_logs_in(app, runner, client, clock):
    args = [f"--{name}={count}" for name, count in SMALL.items()]
    lines = load(runner, *args)
    assert "mandats obtenus : 12, mandats dispensés : 211, dossiers : 60, membres : 8" in "\n".join(lines)
    given = credentials(lines)
    fiduciary = Space.get_by_id(int(given["Space"]))
    demo = User.get(User.userid == given["UserID"])

    # the numbers: a person in 200 spaces, the product's limit, all created through its Token
    product = AuthProduct.get(AuthProduct.user == demo)
    assert Membership.select().where(Membership.user == demo, Membership.role == "admin").count() == 200
    assert spaces.professional_spaces_created(product) == product.space_limit == 200
    with pytest.raises(spaces.SpaceLimitReached):
        spaces.check_space_limit(product)
    obtained = Certification.select().where(Certification.space == fiduciary, Certification.kind == "proxy")
    assert obtained.count() == 12
    assert Mandate.select().join(AccessCode).where(AccessCode.redeemed_in == fiduciary).count() == 12
    assert Mandate.select().join(AccessCode).where(AccessCode.issued_by_space == fiduciary).count() == 211
    assert Dossier.select().where(Dossier.space == fiduciary).count() == 60
    assert Membership.select().where(Membership.space == fiduciary).count() == 8
    recipients = CommunicationRecipient.select().where(CommunicationRecipient.company_identifier == "B690000")
    assert recipients.count() == 7
    # every dossier has its history, the transmitted ones their reference, the counter the last
    assert DossierEvent.select().join(Dossier).where(Dossier.space == fiduciary).count() > 60
    drafts = Dossier.select().where(Dossier.space == fiduciary, Dossier.reference.is_null())
    assert drafts.count() == Dossier.select().where(Dossier.status == "draft").count() == 6
    # each dossier's data passes its procedure's checks: a demo draft can be signed as it is
    for dossier in Dossier.select().where(Dossier.space == fiduciary):
        definition = procedures.definition(dossier.procedure)
        assert procedure_values.check_data(definition, dossier.data) == {}, dossier.id
    last = (
        Dossier.select()
        .where(Dossier.reference.startswith("ACD-"))
        .order_by(Dossier.reference.desc())
        .first()
    )
    counter = ReferenceCounter.get(ReferenceCounter.administration == last.procedure.administration)
    assert last.reference.endswith(f"-{counter.last:06d}")

    # the printed credentials log in through the login's pages: password, then the TOTP
    assert SECRET.match(given["TOTP secret"]) and SECRET.match(given["Agent TOTP secret"])
    response = person_login(client, given["UserID"], given["Password"], given["TOTP secret"])
    assert response.status_code == 303, text(response)
    home = f"/espaces/{fiduciary.id}"
    client_name = obtained.order_by(Certification.id).first().company_name
    pages = {
        home: last.reference,  # Mes démarches
        f"{home}/dossiers/{given['Dossier']}": "Accusé de réception n° 1 (PDF signé)",
        f"{home}/mandats-obtenus": client_name,
        f"{home}/mandats-dispenses": "Page 1 sur 5",  # 211 mandates dispensés
        f"{home}/certifications": "Fiches de retenue",
        f"{home}/utilisateurs": "Membre 0007",
        f"{home}/communications": "(n° 7)",
        "/espaces/changer": "Société Démo 001",
    }
    for url, shown in pages.items():
        response = client.get(url)
        assert response.status_code == 200 and shown in text(response), url

    receipt = client.get(f"{home}/dossiers/{given['Dossier']}/accuses/1")
    assert receipt.status_code == 200 and receipts.verify(receipt.data)

    agent = Agent.get(Agent.userid == given["Agent UserID"])
    assert agent.administration.code == given["Agent administration"] == "ACD"
    response = agent_login(client, given["Agent UserID"], given["Agent password"], given["Agent TOTP secret"])
    assert response.status_code == 303 and response.headers["Location"] == "/back-office", text(response)
    assert last.reference in text(client.get("/back-office/dossiers"))

    # a second run is refused, and changes nothing
    result = runner.invoke(args=["load-scale", "--dossiers=1"])
    assert result.exit_code == 1 and "déjà chargé" in result.output
    assert Dossier.select().count() == 60


def test_a_catalogue_is_needed_and_loaded_first(app, runner, clock):
    lines = load(runner, "--mandates=1", "--dossiers=2", "--members=2", "--communications=0", "--spaces=1")
    assert lines[0].startswith("Catalogue") and lines[1].startswith("Démarches : 4")
    demo = AuthProduct.select().join(User).where(User.userid == "demo.fiduciaire").get()
    assert spaces.professional_spaces_created(demo) == 1 and Dossier.select().count() == 2


def page_queries(client, urls):
    counts = {}
    for name, url in urls.items():
        with count_queries() as counted:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = counted.count
    return counts


def measure(app, loaded):
    """The queries of each page the benchmark opens, as the dataset's person and agent."""
    home = f"/espaces/{loaded.space_id}"
    person = log_in(app.test_client(), User.get(User.userid_key == scale.DEMO_USERID))
    counts = page_queries(
        person,
        {
            "Mes démarches": home,
            "a dossier": f"{home}/dossiers/{loaded.dossier_id}",
            "Certifications": f"{home}/certifications",
            "Mandats obtenus": f"{home}/mandats-obtenus",
            "Mandats dispensés": f"{home}/mandats-dispenses",
            "Utilisateurs": f"{home}/utilisateurs",
            "Communications": f"{home}/communications",
            "Changer d'espace": "/espaces/changer",
            "Mon profil d'espace": f"{home}/profil",
        },
    )
    agent = app.test_client()
    assert agent_log_in(agent, scale.AGENT_USERID, loaded.password).status_code == 303
    counts.update(page_queries(agent, {"the back-office queue": "/back-office/dossiers"}))
    return counts


def test_the_space_pages_run_as_many_queries_on_a_larger_dataset(app, runner, clock):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    with app.test_request_context():
        small = measure(app, scale.load(mandates=3, dossiers=20, members=3, communications=3, spaces=2))
    # The small dataset's people and agent step aside: the larger one loads beside it.
    for user in User.select():
        User.update(userid=f"small.{user.userid}", userid_key=f"small.{user.userid_key}").where(
            User.id == user.id
        ).execute()
    Agent.update(userid="agent.small", userid_key="agent.small").where(
        Agent.userid_key == scale.AGENT_USERID
    ).execute()
    clock.advance(minutes=1)  # the agent's next one-time code
    with app.test_request_context():
        large = measure(
            app, scale.load(mandates=120, dossiers=400, members=120, communications=120, spaces=60)
        )
    assert small == large
