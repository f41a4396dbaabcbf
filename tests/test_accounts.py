"""Registration, e-mail confirmation, terms and recovery, on the services."""

import re
from datetime import timedelta

import pytest

import factories
from helpers import at_once
from models import AuditEntry, AuthProduct, Letter, OutboxMail, PendingTotpSecret, User
from services import DomainError, accounts, auth, links, recovery, throttle


def new_person(app, **fields):
    """Enrolled but not registered: as right after the token step."""
    with app.test_request_context():
        return factories.user(registered=False, **fields)


def register(app, user, email="lea@example.lu"):
    with app.test_request_context():
        return accounts.register(
            user,
            "Léa",
            "Guichet",
            email,
            "1983 0819 749 25",
            "11, allée du Guichet",
            "L-0000",
            "Luxembourg",
            "",
        )


def link_token(mail):
    return re.search(r"/inscription/confirmer/([\w.\-]+)", mail.body_text).group(1)


def last_mail(to=None):
    query = OutboxMail.select().order_by(OutboxMail.id.desc())
    return (query.where(OutboxMail.to == to) if to else query).first()


def test_enrolment_creates_user_and_token(app, clock):
    with app.test_request_context():
        product = accounts.start_enrolment("Lea.G", factories.PASSWORD, "chat", "fr")
    assert product.user.userid == "Lea.G" and product.enrolled_at is None
    assert factories.PASSWORD not in product.password_hash
    assert (
        len(auth.totp_secret(product)) == 32
        and auth.totp_secret(product) not in product.totp_secret_encrypted
    )
    with pytest.raises(auth.InvalidOTP):
        accounts.confirm_enrolment(product, "000000")
    accounts.confirm_enrolment(product, factories.otp(auth.totp_secret(product)))
    assert AuthProduct.get_by_id(product.id).enrolled_at == clock.now()


@pytest.mark.parametrize(
    "userid, password, image, error",
    [
        ("ab", factories.PASSWORD, "chat", accounts.InvalidUserId),
        ("lea guichet", factories.PASSWORD, "chat", accounts.InvalidUserId),
        ("lea2", "short", "chat", auth.WeakPassword),
        ("lea2", factories.PASSWORD, "dragon", DomainError),
        ("LEA", factories.PASSWORD, "chat", accounts.UserIdTaken),
    ],
)
def test_enrolment_refusals_change_nothing(app, clock, userid, password, image, error):
    factories.user()
    with pytest.raises(error):
        accounts.start_enrolment(userid, password, image, "fr")
    assert User.select().count() == 1 and AuthProduct.select().count() == 1


def test_registration_sends_the_seed_mail_with_deadline_and_code(app, clock):
    user = register(app, new_person(app))
    assert user.matricule == "1983081974925" and accounts.next_registration_step(user) == "email"
    mail = last_mail()
    assert mail.to == "lea@example.lu"
    assert "Votre demande d'enregistrement" in mail.subject
    # clock: 2026-03-25 07:40:40 UTC → + 72 h = Saturday 28/03/2026 08:40:40 in Luxembourg (CET)
    assert "La date limite est samedi 28/03/2026 08:40:40." in mail.body_text
    assert re.search(r"Code de sécurité : [2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", mail.body_text)
    assert "Confirmation de votre enregistrement auprès d'une application Internet" in mail.body_text


def test_link_valid_at_exactly_72_hours_and_refused_one_second_later(app, clock):
    user = register(app, new_person(app))
    token = link_token(last_mail())
    clock.advance(hours=72, seconds=1)
    with pytest.raises(links.LinkExpired):
        accounts.read_confirmation(token)
    clock.advance(seconds=-1)
    with app.test_request_context():
        confirmed = accounts.confirm_email(token)
    assert confirmed.email_confirmed_at == clock.now() and confirmed.id == user.id


def test_confirmation_is_single_use_and_queues_the_letter(app, clock):
    register(app, new_person(app))
    token = link_token(last_mail())
    with app.test_request_context():
        accounts.confirm_email(token)
        with pytest.raises(links.LinkUsed):
            accounts.confirm_email(token)
    [letter] = Letter.select()
    assert letter.subject == "Confirmation de votre enregistrement auprès d'une application Internet"
    assert letter.recipient_name == "Léa Guichet" and "11, allée du Guichet" in letter.address
    assert letter.administration_id is None  # the portal's queue, which the helpdesk prints
    assert AuditEntry.select().where(AuditEntry.action == "account.email_confirmed").count() == 1


def test_a_new_link_kills_the_old_one(app, clock):
    user = register(app, new_person(app))
    old = link_token(last_mail())
    with app.test_request_context():
        accounts.send_confirmation(User.get_by_id(user.id))
    new = link_token(last_mail())
    with pytest.raises(links.LinkUsed):
        accounts.read_confirmation(old)
    assert accounts.read_confirmation(new)[0].id == user.id


def test_expired_link_offers_a_new_one(app, clock):
    user = register(app, new_person(app))
    expired = link_token(last_mail())
    clock.advance(hours=73)
    with app.test_request_context():
        accounts.resend_expired_confirmation(expired)
    assert OutboxMail.select().count() == 2
    with app.test_request_context():
        assert accounts.confirm_email(link_token(last_mail())).id == user.id


@pytest.mark.parametrize(
    "tamper",
    [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t, lambda t: "garbage"],
)
def test_tampered_links_are_invalid(app, clock, tamper):
    register(app, new_person(app))
    with pytest.raises(links.LinkInvalid):
        accounts.read_confirmation(tamper(link_token(last_mail())))


def test_wrong_purpose_link_is_invalid(app, clock):
    with app.test_request_context():
        token = links.make("password-reset", {"u": 1, "c": "X"})
    with pytest.raises(links.LinkInvalid):
        accounts.read_confirmation(token)


def mail_code(mail):
    return re.search(r"Code de sécurité : ([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})", mail.body_text).group(1)


def test_the_security_code_confirms_like_the_link(app, clock):
    """Typed on the confirmation page instead of following the link: once, within 72 h."""
    user = register(app, new_person(app))
    code = mail_code(last_mail())
    clock.advance(hours=72)
    with app.test_request_context():
        confirmed = accounts.confirm_email_code(user, code.lower().replace("-", " "))
    assert (
        confirmed.email_confirmed_at == clock.now() and accounts.next_registration_step(confirmed) == "terms"
    )
    assert Letter.select().count() == 1
    with pytest.raises(accounts.AlreadyConfirmed):
        accounts.confirm_email_code(user, code)
    with pytest.raises(links.LinkUsed):  # and the link of the same mail is used up
        accounts.read_confirmation(link_token(last_mail()))


def test_the_security_code_expires_with_the_link(app, clock):
    user = register(app, new_person(app))
    code = mail_code(last_mail())
    clock.advance(hours=72, seconds=1)
    with pytest.raises(accounts.ConfirmationCodeExpired) as expired:
        accounts.confirm_email_code(user, code)
    assert expired.value.status == 410
    assert User.get_by_id(user.id).email_confirmed_at is None and Letter.select().count() == 0


def test_a_wrong_security_code_changes_nothing_and_is_throttled(app, clock):
    user = register(app, new_person(app))
    code = mail_code(last_mail())
    with app.test_request_context():
        accounts.send_confirmation(User.get_by_id(user.id))  # a new mail: the first code dies
    for wrong in [code, "ABCD-EFGH-JKMN", "not even a code", "", "ABCD-EFGH-JKMN-PQRS", "2345-6789-ABC"]:
        with pytest.raises(accounts.WrongConfirmationCode) as refused:
            accounts.confirm_email_code(user, wrong)
        assert refused.value.status == 422
    assert User.get_by_id(user.id).email_confirmed_at is None and Letter.select().count() == 0
    for _ in range(4):
        with pytest.raises(accounts.WrongConfirmationCode):
            accounts.confirm_email_code(user, "ABCD-EFGH-JKMN")
    with pytest.raises(throttle.Throttled):  # like the person's other codes
        accounts.confirm_email_code(user, mail_code(last_mail()))
    assert AuditEntry.select().where(AuditEntry.action == "account.confirmation_code_failed").count() == 10
    clock.advance(minutes=15)
    with app.test_request_context():
        assert accounts.confirm_email_code(user, mail_code(last_mail())).email_confirmed_at == clock.now()


def test_invalid_matricule_changes_nothing(app, clock):
    import validators

    user = new_person(app)
    with pytest.raises(validators.InvalidIdentifier), app.test_request_context():
        accounts.register(user, "Léa", "Guichet", "lea@example.lu", "1983081974926", "rue", "L-1", "Lux", "")
    assert User.get_by_id(user.id).registered_at is None and OutboxMail.select().count() == 0


def test_terms_version_change_asks_again(app, clock):
    user = factories.user()
    assert accounts.next_registration_step(user) is None
    app.config["TERMS_VERSION"] = "2099-01"
    assert accounts.next_registration_step(User.get_by_id(user.id)) == "terms"
    with pytest.raises(DomainError):
        accounts.accept_terms(user, False)
    accounts.accept_terms(user, True)
    user = User.get_by_id(user.id)
    assert (user.terms_version, user.terms_accepted_at) == ("2099-01", clock.now())


def test_terms_asked_again_are_said_to_have_changed(app, clock):
    """Only a person who accepted earlier terms is told they changed; a newcomer is not."""
    newcomer, person = factories.user("newcomer", registered=False), factories.user()
    assert not accounts.terms_renewed(newcomer) and not accounts.terms_renewed(person)
    app.config["TERMS_VERSION"] = "2099-01"
    assert accounts.terms_renewed(User.get_by_id(person.id)) and not accounts.terms_renewed(newcomer)


def reset_link(mail, path):
    return re.search(rf"/{path}/([\w.\-]+)", mail.body_text).group(1)


def test_password_reset_by_mail_then_otp(app, clock):
    user = factories.user()
    session = auth.open_session(user, "10.0.0.1")
    with app.test_request_context():
        recovery.request_password_reset("lea@example.lu")
    token = reset_link(last_mail("lea@example.lu"), "mot-de-passe-oublie")
    with pytest.raises(auth.InvalidOTP):
        recovery.reset_password(token, "a brand new passphrase", "000000", "10.0.0.1")
    recovery.reset_password(token, "a brand new passphrase", factories.otp(), "10.0.0.1")
    assert auth.check_password("lea", "a brand new passphrase", "10.0.0.1")
    assert auth.load_session(session) is None  # every session ended
    with pytest.raises(links.LinkUsed):  # single use
        recovery.read_password_reset(token)


def test_password_reset_link_lasts_one_hour(app, clock):
    factories.user()
    with app.test_request_context():
        recovery.request_password_reset("LEA")
    token = reset_link(last_mail(), "mot-de-passe-oublie")
    clock.advance(hours=1, seconds=1)
    with pytest.raises(links.LinkExpired):
        recovery.read_password_reset(token)


def test_password_reset_for_unknown_people_sends_nothing(app, clock):
    with app.test_request_context():
        recovery.request_password_reset("nobody@example.lu")
    assert OutboxMail.select().count() == 0


def test_password_reset_by_mail_takes_no_wildcards(app, clock):
    """An e-mail address is matched whole: "%" or "_" reach nobody else's mailbox."""
    factories.user()
    with app.test_request_context():
        for pattern in ("%@example.lu", "lea@example.l_", "%"):
            recovery.request_password_reset(pattern)
    assert OutboxMail.select().count() == 0


def test_a_token_reset_link_submitted_twice_at_once_replaces_the_token_once(app, clock):
    factories.user()
    with app.test_request_context():
        recovery.request_token_reset("lea", factories.PASSWORD, "10.0.0.1")
    token = reset_link(last_mail(), "token-perdu")
    _user, new_secret = recovery.pending_token_secret(token)
    code = factories.otp(new_secret)
    outcomes = at_once(app, [lambda: recovery.reset_token(token, code) for _ in range(4)])
    assert outcomes.count("ok") == 1, outcomes
    # The others find the link used (or, arriving last, a new secret their code is not for).
    assert all(isinstance(o, (links.LinkUsed, auth.InvalidOTP)) for o in outcomes if o != "ok"), outcomes
    assert AuditEntry.select().where(AuditEntry.action == "account.token_replaced").count() == 1


def test_lost_token_needs_password_and_mail_link(app, clock):
    user = factories.user()
    with pytest.raises(auth.InvalidCredentials), app.test_request_context():
        recovery.request_token_reset("lea", "wrong password!", "10.0.0.1")
    assert OutboxMail.select().count() == 0
    with app.test_request_context():
        recovery.request_token_reset("lea", factories.PASSWORD, "10.0.0.1")
    token = reset_link(last_mail(), "token-perdu")
    _user, new_secret = recovery.pending_token_secret(token)
    with pytest.raises(auth.InvalidOTP):
        recovery.reset_token(token, factories.otp())  # a code of the old token
    recovery.reset_token(token, factories.otp(new_secret))
    product = AuthProduct.get(AuthProduct.user == user)
    assert auth.totp_secret(product) == new_secret
    with pytest.raises(links.LinkUsed):
        recovery.read_token_reset(token)
    clock.advance(seconds=30)
    assert auth.check_otp(user, factories.otp(new_secret), "10.0.0.1")
    assert timedelta(hours=1) == recovery.RECOVERY_VALIDITY


def test_the_new_token_secret_waits_on_the_server_encrypted(app, clock):
    """The secret of a token reset is kept encrypted in the database for the link's hour,
    the same on every visit, and gone once the new token is confirmed."""
    factories.user()
    with app.test_request_context():
        recovery.request_token_reset("lea", factories.PASSWORD, "10.0.0.1")
    token = reset_link(last_mail(), "token-perdu")
    _user, secret = recovery.pending_token_secret(token)
    assert recovery.pending_token_secret(token)[1] == secret
    [pending] = PendingTotpSecret.select()
    assert secret not in pending.secret_encrypted and token not in pending.flow_hash
    clock.advance(minutes=30)
    recovery.reset_token(token, factories.otp(secret))
    assert PendingTotpSecret.select().count() == 0


def test_pending_token_secrets_expire_with_their_link(app, clock):
    factories.user()
    with app.test_request_context():
        recovery.request_token_reset("lea", factories.PASSWORD, "10.0.0.1")
    token = reset_link(last_mail(), "token-perdu")
    recovery.pending_token_secret(token)
    clock.advance(hours=1, seconds=1)
    with pytest.raises(links.LinkExpired):
        recovery.pending_token_secret(token)
    factories.user("tom")
    with app.test_request_context():
        recovery.request_token_reset("tom", factories.PASSWORD, "10.0.0.1")
    recovery.pending_token_secret(reset_link(last_mail(), "token-perdu"))
    assert [p.user.userid for p in PendingTotpSecret.select()] == ["tom"]  # lea's expired one is gone
