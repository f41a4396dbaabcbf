"""Créer mon espace professionnel, the rules (services/impots_signup.py): the Mode simplifié's
72 h link to the company's e-mail from the register, the space and its posted code; the Mode
expert's 48 h code by e-mail and the numéro d'abonné; deadlines exact at their boundary;
single use, also under concurrency; one account per e-mail; answers that do not tell whether
an e-mail has an account; sending throttled; wrong codes counted like access codes."""

import re
from datetime import datetime, timedelta

import pytest

import factories
from helpers import at_once
from models import Adhesion, AuditEntry, Company, ImpotsSignup, Letter, Membership, OutboxMail, Space, User
from services import adhesions, catalogue, companies, impots_accounts, impots_signup, letters, throttle
from services.auth import PasswordTooShort
from services.mail import deliver_due

pytestmark = pytest.mark.usefixtures("request_context")

PASSWORD = factories.PASSWORD
START = datetime(2026, 3, 25, 7, 40, 40)  # the clock fixture's instant


@pytest.fixture
def register(app, clock):
    catalogue.load()
    return factories.registered_company(**factories.BOULANGERIE_MARTIN)


def simplified(siren="732 829 320", email="paul.martin@example.fr", ip="192.0.2.1", **overrides):
    values = {
        "first_name": "Paul",
        "last_name": "Martin",
        "password": PASSWORD,
        "accepted": True,
        **overrides,
    }
    return impots_signup.request_simplified(
        siren,
        values["first_name"],
        values["last_name"],
        email,
        values["password"],
        values["accepted"],
        "fr",
        ip=ip,
    )


def expert(email="claire.expert@example.fr", ip="192.0.2.1", **overrides):
    values = {
        "first_name": "Claire",
        "last_name": "Expert",
        "password": PASSWORD,
        "accepted": True,
        **overrides,
    }
    return impots_signup.request_expert(
        email, values["password"], values["first_name"], values["last_name"], values["accepted"], "fr", ip=ip
    )


def link_secret(mail=None):
    mail = mail or OutboxMail.select().order_by(OutboxMail.id.desc()).get()
    return re.search(r"/impots/creer/lien/(\w+)", mail.body_text).group(1)


def mailed_code(mail=None):
    mail = mail or OutboxMail.select().order_by(OutboxMail.id.desc()).get()
    return re.search(r"Votre code d'activation : (\S+)", mail.body_text).group(1)


# --- Mode simplifié ---------------------------------------------------------------------------


def test_the_link_goes_to_the_company_email_from_the_register(register):
    sent = simplified()
    assert sent == ("simplified", "c•••@boulangerie-martin.fr", START + timedelta(hours=72))
    [mail] = OutboxMail.select()
    assert mail.to == "contact@boulangerie-martin.fr"  # never the person's address
    assert "Paul Martin (paul.martin@example.fr)" in mail.body_text
    assert "Boulangerie Martin SARL (SIREN 732829320)" in mail.body_text
    assert "La date limite est samedi 28/03/2026 08:40." in mail.body_text  # Paris time
    signup = ImpotsSignup.get()
    assert (signup.mode, signup.email, signup.company_identifier) == (
        "simplified",
        "paul.martin@example.fr",
        "732829320",
    )
    assert link_secret() not in signup.secret_hash and PASSWORD not in signup.password_hash
    assert User.select().count() == 0 and Space.select().count() == 0
    [entry] = AuditEntry.select().where(AuditEntry.action == "impots.signup_link_sent")
    assert entry.details == {"company": "732829320"}


def test_following_the_link_creates_the_account_the_space_and_the_posted_code(register):
    simplified()
    space, adhesion = impots_signup.create_simplified_space(link_secret(), "fr")
    user = User.get()
    assert (user.userid, user.email, user.display_name) == (
        "paul.martin@example.fr",
        "paul.martin@example.fr",
        "Paul Martin",
    )
    assert impots_accounts.login("Paul.Martin@example.fr", PASSWORD, "192.0.2.1") == user
    assert (space.kind, space.name, space.identifier_kind, space.identifier) == (
        "professional",
        "Boulangerie Martin SARL",
        "siren",
        "732829320",
    )
    assert (space.street, space.postcode, space.city, space.company_email) == (
        "12, rue des Boulangers",
        "75005",
        "Paris",
        "contact@boulangerie-martin.fr",
    )
    assert space.created_with == impots_accounts.impots_product(user) and space.subscriber_number is None
    assert Membership.get(Membership.space == space).role == "admin"
    assert ImpotsSignup.get().space_id == space.id and ImpotsSignup.get().completed_at == START
    # Every offered service of the DGFiP, its code by post to the registered address.
    assert adhesion.status(START) == "pending" and adhesion.code_expires_at == START + timedelta(days=60)
    assert [s.slug for s in adhesions.services_of(adhesion)] == [s.slug for s in adhesions.offered_services()]
    assert "dgfip-messagerie" in [s.slug for s in adhesions.services_of(adhesion)]
    letter = Letter.get()
    assert letter.address_lines == ["12, rue des Boulangers", "75005 Paris", "France"]
    assert letter.recipient_name == "Boulangerie Martin SARL"
    code = letters.carried_code(letter)
    adhesions.activate(Membership.get(), user, adhesion.id, code)
    assert Adhesion.get_by_id(adhesion.id).status(START) == "active"
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions[-4:] == [
        "impots.account_created",
        "space.created",
        "adhesion.requested",
        "adhesion.activated",
    ]


def test_the_link_is_valid_until_its_72nd_hour_exactly(register, clock):
    simplified()
    first = link_secret()
    simplified(email="lea.autre@example.fr")
    second = link_secret()
    clock.advance(hours=72)
    impots_signup.simplified_signup(first)  # at the deadline: still valid
    impots_signup.create_simplified_space(first, "fr")
    clock.advance(seconds=1)
    with pytest.raises(impots_accounts.SignupExpired):
        impots_signup.simplified_signup(second)
    with pytest.raises(impots_accounts.SignupExpired):
        impots_signup.create_simplified_space(second, "fr")
    assert Space.select().count() == 1 and User.select().count() == 1


def test_a_link_serves_once_and_a_forged_one_never(register):
    simplified()
    secret = link_secret()
    impots_signup.create_simplified_space(secret, "fr")
    for link in (secret, secret.lower(), "A" * 32, "x"):
        with pytest.raises(impots_accounts.SignupGone):
            impots_signup.create_simplified_space(link, "fr")
    assert Space.select().count() == 1 and Adhesion.select().count() == 1 and Letter.select().count() == 1


def test_a_new_request_replaces_the_pending_link(register):
    simplified()
    old = link_secret()
    simplified()
    with pytest.raises(impots_accounts.SignupGone):
        impots_signup.simplified_signup(old)
    impots_signup.create_simplified_space(link_secret(), "fr")
    assert ImpotsSignup.select().count() == 1


@pytest.mark.parametrize(
    "siren, error",
    [
        ("732 829 321", companies.InvalidSiren),
        ("552100554", companies.UnknownCompany),
        ("", companies.InvalidSiren),
    ],
)
def test_a_siren_must_be_valid_and_in_the_register(register, siren, error):
    with pytest.raises(error):
        simplified(siren=siren)
    assert OutboxMail.select().count() == 0 and ImpotsSignup.select().count() == 0


def test_the_register_must_know_the_company_email(register):
    factories.registered_company("443061841", name="Sans Courriel SAS", country="France")
    with pytest.raises(impots_signup.CompanyEmailUnknown) as refused:
        simplified(siren="443061841")
    assert "Mode expert" in refused.value.message and "Helpdesk" in refused.value.message
    assert OutboxMail.select().count() == 0 and ImpotsSignup.select().count() == 0


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({"email": "pas-une-adresse"}, impots_accounts.InvalidEmail),
        ({"email": "a" * 60 + "@example.fr"}, impots_signup.EmailTooLong),
        ({"password": "court"}, PasswordTooShort),
        ({"accepted": False}, impots_signup.TermsNotAccepted),
    ],
)
def test_refusals_change_nothing(register, overrides, error):
    with pytest.raises(error):
        simplified(**overrides)
    with pytest.raises(error):
        expert(**overrides)
    assert OutboxMail.select().count() == 0 and ImpotsSignup.select().count() == 0


def test_the_company_gets_three_links_a_day(register, clock):
    for n in range(3):
        simplified(email=f"p{n}@example.fr", ip=f"192.0.2.{n}")
    with pytest.raises(throttle.TooManySent) as refused:
        simplified(email="p9@example.fr", ip="192.0.2.9")
    assert refused.value.status == 429 and refused.value.retry_after == 24 * 3600
    assert OutboxMail.select().count() == 3 and ImpotsSignup.select().count() == 3
    clock.advance(days=1)
    simplified(email="p9@example.fr", ip="192.0.2.9")


def test_a_client_address_sends_ten_an_hour(register, clock):
    for n in range(10):
        expert(email=f"e{n}@example.fr")
    with pytest.raises(throttle.TooManySent):
        simplified()
    assert OutboxMail.select().count() == 10
    clock.advance(hours=1)
    simplified()


# --- One account per e-mail, and nothing said about it ------------------------------------------


def complete_expert(email="claire.expert@example.fr"):
    expert(email=email)
    return impots_signup.activate_expert(email, mailed_code(), "fr")


def test_an_existing_account_gets_a_mail_and_the_same_answer(register):
    complete_expert("paul.martin@example.fr")
    OutboxMail.delete().execute()
    sent = simplified(email="PAUL.MARTIN@example.fr")
    assert sent == ("simplified", "c•••@boulangerie-martin.fr", START + timedelta(hours=72))
    [mail] = OutboxMail.select()
    assert mail.to == "PAUL.MARTIN@example.fr"
    assert "Vous avez déjà un compte avec cette adresse" in mail.body_text
    assert "/impots/creer/lien/" not in mail.body_text
    sent = expert(email="paul.martin@example.fr")
    assert sent == ("expert", "paul.martin@example.fr", START + timedelta(hours=48))
    assert "Votre code d'activation" not in OutboxMail.select().order_by(OutboxMail.id.desc()).get().body_text
    assert ImpotsSignup.select().where(ImpotsSignup.completed_at.is_null()).count() == 0
    assert User.select().count() == 1


def test_the_same_email_never_opens_two_accounts(register):
    expert()
    code = mailed_code()
    simplified(email="claire.expert@example.fr")  # replaces the pending expert signup
    with pytest.raises(impots_signup.InvalidSignupCode):
        impots_signup.activate_expert("claire.expert@example.fr", code, "fr")
    secret = link_secret()
    # An account made meanwhile by another way: the link then creates nothing.
    factories.user("claire.expert@example.fr", email="claire.expert@example.fr")
    with pytest.raises(impots_accounts.EmailTaken):
        impots_signup.create_simplified_space(secret, "fr")
    assert Space.select().count() == 0 and Adhesion.select().count() == 0
    assert ImpotsSignup.get().completed_at is None  # the transaction kept nothing


def test_two_links_followed_at_once_make_one_space(app, register):
    simplified()
    secret = link_secret()
    outcomes = at_once(app, [lambda: impots_signup.create_simplified_space(secret, "fr")] * 2)
    assert sorted(o if o == "ok" else type(o).__name__ for o in outcomes) == ["SignupGone", "ok"]
    assert Space.select().count() == 1 and User.select().count() == 1 and Adhesion.select().count() == 1


def test_one_code_typed_twice_at_once_makes_one_space(app, register):
    expert()
    code = mailed_code()
    activate = lambda: impots_signup.activate_expert("claire.expert@example.fr", code, "fr")  # noqa: E731
    outcomes = at_once(app, [activate] * 2)
    assert sorted(o if o == "ok" else type(o).__name__ for o in outcomes) == ["SignupGone", "ok"]
    assert Space.select().count() == 1 and User.select().count() == 1


# --- Mode expert -------------------------------------------------------------------------------


def test_the_code_goes_to_the_person_and_makes_a_subscriber_space(register):
    assert expert() == ("expert", "claire.expert@example.fr", START + timedelta(hours=48))
    [mail] = OutboxMail.select()
    assert mail.to == "claire.expert@example.fr"
    code = mailed_code(mail)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    assert "La date limite est vendredi 27/03/2026 08:40." in mail.body_text
    assert "/impots/activer" in mail.body_text
    space = impots_signup.activate_expert(" Claire.Expert@Example.fr ", code.lower().replace("-", " "), "fr")
    assert re.fullmatch(r"[1-9]\d{9}", space.subscriber_number)
    assert (space.kind, space.name, space.identifier) == ("professional", "Espace abonné Claire Expert", "")
    user = User.get()
    assert Membership.get(Membership.space == space).user == user and Membership.get().role == "admin"
    assert Adhesion.select().count() == 0 and Letter.select().count() == 0
    assert impots_accounts.login("claire.expert@example.fr", PASSWORD, "192.0.2.1") == user
    details = [e.details for e in AuditEntry.select()]
    assert not any(code in str(d) or code.replace("-", "") in str(d) for d in details)


def test_the_code_is_valid_until_its_48th_hour_exactly(register, clock):
    expert()
    first = mailed_code()
    expert(email="autre@example.fr")
    second = mailed_code()
    clock.advance(hours=48)
    impots_signup.activate_expert("claire.expert@example.fr", first, "fr")
    clock.advance(seconds=1)
    with pytest.raises(impots_accounts.SignupExpired):
        impots_signup.activate_expert("autre@example.fr", second, "fr")
    assert Space.select().count() == 1
    throttle.check(impots_signup.activation_key("autre@example.fr"))  # the right code: not counted


def test_a_code_serves_once(register):
    space = complete_expert()
    code = mailed_code()
    with pytest.raises(impots_accounts.SignupGone):
        impots_signup.activate_expert("claire.expert@example.fr", code, "fr")
    assert Space.select().count() == 1 and space.subscriber_number


def test_wrong_codes_are_counted_then_wait(register, clock):
    expert()
    code = mailed_code()
    for _ in range(9):
        with pytest.raises(impots_signup.InvalidSignupCode):
            impots_signup.activate_expert("claire.expert@example.fr", "AAAA-AAAA", "fr")
    with pytest.raises(impots_signup.InvalidSignupCode):  # the code of another e-mail is as wrong
        impots_signup.activate_expert("autre@example.fr", code, "fr")
    with pytest.raises(impots_signup.InvalidSignupCode):  # the 10th for this e-mail
        impots_signup.activate_expert("claire.expert@example.fr", "AAAA-AAAB", "fr")
    with pytest.raises(throttle.Throttled) as waiting:
        impots_signup.activate_expert("claire.expert@example.fr", code, "fr")  # even the right one
    assert waiting.value.status == 429 and waiting.value.retry_after == 15 * 60
    assert Space.select().count() == 0
    failures = AuditEntry.select().where(AuditEntry.action == "impots.activation_failed").count()
    assert failures == 11
    clock.advance(minutes=15)
    assert impots_signup.activate_expert("claire.expert@example.fr", code, "fr").subscriber_number


def test_a_hundred_wrong_codes_lock(register, clock):
    expert()
    code = mailed_code()
    for n in range(100):
        if n and n % 10 == 0:
            clock.advance(minutes=15)
        with pytest.raises(impots_signup.InvalidSignupCode):
            impots_signup.activate_expert("claire.expert@example.fr", "AAAA-AAAA", "fr")
    clock.advance(minutes=15)
    with pytest.raises(throttle.Locked):
        impots_signup.activate_expert("claire.expert@example.fr", code, "fr")
    assert AuditEntry.select().where(AuditEntry.action == "impots.activation_locked").count() == 1


def test_subscriber_numbers_are_drawn_again_on_collision(register, monkeypatch):
    taken = factories.space(factories.user("lea"), subscriber_number="1000000000")
    draws = iter([0, 0, 5])
    monkeypatch.setattr(impots_signup.secrets, "randbelow", lambda _n: next(draws))
    space = complete_expert()
    assert space.subscriber_number == "1000000005" and taken.subscriber_number == "1000000000"


def test_the_mails_reach_a_real_smtp_server(register, smtp):
    simplified()
    expert()
    deliver_due()
    link_mail, code_mail = smtp.wait_for(2)
    assert link_mail["To"] == "contact@boulangerie-martin.fr"
    subject = "Création de l'espace professionnel de l'entreprise Boulangerie Martin SARL"
    assert link_mail["Subject"] == subject
    assert "/impots/creer/lien/" in link_mail.get_body(("plain",)).get_content()
    assert "/impots/creer/lien/" in link_mail.get_body(("html",)).get_content()
    assert code_mail["To"] == "claire.expert@example.fr"
    assert "Votre code d'activation : " in code_mail.get_body(("plain",)).get_content()


def test_a_company_removed_from_the_register_makes_the_link_gone(register):
    simplified()
    Company.delete().execute()
    with pytest.raises(impots_accounts.SignupGone):
        impots_signup.create_simplified_space(link_secret(), "fr")
