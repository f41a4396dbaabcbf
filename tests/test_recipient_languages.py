"""A person's language: kept on the account by the FR / DE / EN switch, across login, logout
and recovery; every mail and letter written in its recipient's language, whatever the
language of the request that causes it; letters to companies in their administration's.

The German and English catalogues are filled as the product grows: the tests say which
language a mail or a letter is in by what does not depend on their content (the mail's
`<html lang>`, a subject equal to its msgstr looked up in that language, a date in its
month's or weekday's name)."""

import io
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale, format_date, format_datetime, gettext
from pypdf import PdfReader

import factories
from app import format_deadline
from helpers import agent_log_in, csrf_token, log_in
from models import Administration, Agent, ContactRequest, Letter, OutboxMail, Service, User
from services import access_codes, catalogue, languages, letters, mail, mandates

DETAILS = factories.REGISTRATION_DETAILS


def said_in(app, language, msgid, **values):
    """What `msgid` reads in `language` (itself until the catalogue translates it)."""
    with app.test_request_context(), force_locale(language):
        return gettext(msgid, **values)


def dated(app, language, value, format="long"):
    with app.test_request_context(), force_locale(language):
        return format_date(value, format)


def post(client, path, data, page=None):
    token = csrf_token(client.get(page or path, follow_redirects=True).get_data(as_text=True))
    return client.post(path, data={**data, "csrf_token": token})


def switch(client, language):
    return post(client, "/langue", {"lang": language}, page="/")


def session_language(client):
    with client.session_transaction() as session:
        return session.get("lang")


def page_language(client, path="/"):
    return re.search(r'<html lang="(\w+)">', client.get(path).get_data(as_text=True)).group(1)


def log_in_with_token(client, userid="lea"):
    post(client, "/connexion/token", {"userid": userid})
    post(client, "/connexion/token/mot-de-passe", {"password": factories.PASSWORD}, page="/connexion/token")
    return post(client, "/connexion/token/otp", {"otp": factories.otp()}, page="/connexion/token")


def delivered(smtp, to):
    """The mails delivered to `to` by the real SMTP server, in the order sent."""
    mail.deliver_due()
    return [message for message in smtp.messages if message["To"] == to]


def mail_language(message):
    return re.search(r'<html lang="(\w+)">', message.get_body(("html",)).get_content()).group(1)


def pdf_text(data):
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


# --- The registration of a German-speaking person -------------------------------------------


def test_a_german_speaking_person_gets_the_confirmation_mail_and_letter_in_german(app, client, clock, smtp):
    switch(client, "de")
    enrolment = {
        "userid": "lea",
        "password": factories.PASSWORD,
        "password_confirm": factories.PASSWORD,
        "secret_image": "chat",
    }
    assert post(client, "/inscription", enrolment).headers["Location"] == "/inscription/token"
    assert User.get().language == "de"  # the page's language, stored on the new account
    page = client.get("/inscription/token").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7-]+)<', page).group(1).replace("-", "")
    post(client, "/inscription/token", {"otp": factories.otp(secret)})
    post(client, "/inscription/enregistrement", DETAILS)

    [message] = delivered(smtp, "lea@example.lu")
    assert mail_language(message) == "de"
    assert message["Subject"] == said_in(app, "de", "Votre demande d'enregistrement auprès d'Espace Pro")
    body = message.get_body(("plain",)).get_content()
    deadline = clock.now() + timedelta(hours=72)  # a Saturday
    with app.test_request_context(), force_locale("de"):
        assert format_deadline(deadline, seconds=True) in body
    assert "Samstag 28.03.2026 08:40:40" in body  # in Luxembourg time

    link = re.search(r"http://localhost(/inscription/confirmer/\S+)", body).group(1)
    post(client, link, {})
    letter = Letter.get()
    assert letter.language == "de"
    assert letter.subject == said_in(
        app, "de", "Confirmation de votre enregistrement auprès d'une application Internet"
    )
    # Printed by the helpdesk in French, the letter stays German: its date too.
    text = pdf_text(client.get(f"/dev/courriers/{letter.id}.pdf").data)
    assert said_in(app, "de", "Luxembourg, le %(date)s", date=dated(app, "de", clock.now())) in text
    assert "25. März 2026" in text and "mars" not in text


def test_an_impots_signup_from_a_german_page_is_mailed_and_kept_in_german(app, client, clock, smtp):
    catalogue.load()
    switch(client, "de")
    email = "claire.expert@example.fr"
    person = {"first_name": "Claire", "last_name": "Expert", "accept": "y"}
    passwords = {"password": factories.PASSWORD, "password_confirm": factories.PASSWORD}
    post(client, "/impots/creer/expert", {"email": email, **passwords, **person})
    [message] = delivered(smtp, email)
    assert mail_language(message) == "de"
    body = message.get_body(("plain",)).get_content()
    assert "Freitag 27.03.2026 08:40" in body  # 48 hours, in Luxembourg time
    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", body).group(1)
    assert post(client, "/impots/activer", {"email": email, "code": code}).status_code == 303
    assert User.get().language == "de"


# --- The switch, login, logout, recovery -------------------------------------------------------


def test_the_switch_stores_the_language_on_the_logged_in_account(app, client, clock):
    switch(client, "de")  # nobody logged in: the session only
    assert session_language(client) == "de"
    lea = factories.user("lea")
    assert lea.language == ""
    log_in(client, lea)
    switch(client, "en")
    assert User.get_by_id(lea.id).language == "en" and session_language(client) == "en"

    factories.agent("ACD", "agent.acd")
    agent_log_in(client, "agent.acd")
    switch(client, "de")  # the agent's login closed the person's session
    assert Agent.get(userid="agent.acd").language == "de" and User.get_by_id(lea.id).language == "en"


def test_the_accounts_language_comes_back_at_login_and_stays_after_logout(app, client, clock):
    factories.user("lea", language="en")
    assert session_language(client) is None
    assert log_in_with_token(client).status_code == 303
    assert session_language(client) == "en" and page_language(client, "/compte") == "en"
    post(client, "/deconnexion", {}, page="/compte")
    assert session_language(client) == "en" and page_language(client) == "en"


def test_a_choice_made_before_the_login_is_kept_and_stored(app, client, clock):
    lea = factories.user("lea", language="en")
    switch(client, "de")
    log_in_with_token(client)
    assert session_language(client) == "de" and User.get_by_id(lea.id).language == "de"


def test_the_language_survives_password_recovery_and_its_mail_is_the_accounts(app, client, clock, smtp):
    factories.user("lea", language="en")
    switch(client, "de")
    post(client, "/mot-de-passe-oublie", {"identifier": "lea"})
    [message] = delivered(smtp, "lea@example.lu")
    assert mail_language(message) == "en"  # the account's, not the German page's
    assert message["Subject"] == said_in(app, "en", "Réinitialisation de votre mot de passe Espace Pro")
    link = re.search(
        r"http://localhost(/mot-de-passe-oublie/\S+)", message.get_body(("plain",)).get_content()
    )
    assert page_language(client, link.group(1)) == "de"
    new = "a brand new passphrase"
    response = post(client, link.group(1), {"password": new, "password_confirm": new, "otp": factories.otp()})
    assert response.status_code == 303 and session_language(client) == "de"
    clock.advance(seconds=30)
    post(client, "/connexion/token", {"userid": "lea"})
    post(client, "/connexion/token/mot-de-passe", {"password": new}, page="/connexion/token")
    post(client, "/connexion/token/otp", {"otp": factories.otp()}, page="/connexion/token")
    assert session_language(client) == "de" and User.get(userid="lea").language == "de"


def test_an_agents_language_comes_back_at_login_and_stays_after_logout(app, client, clock):
    factories.agent("ACD", "agent.acd", language="de")
    assert agent_log_in(client, "agent.acd").headers["Location"] == "/back-office"
    assert session_language(client) == "de" and page_language(client, "/back-office") == "de"
    post(client, "/back-office/deconnexion", {}, page="/back-office")
    assert session_language(client) == "de" and page_language(client, "/back-office/connexion") == "de"


# --- Mails caused by someone else, in another language -------------------------------------------


def test_a_decision_of_a_french_speaking_agent_is_mailed_in_each_members_language(app, client, clock, smtp):
    lea = factories.user("lea", language="en")
    space = factories.space(lea, name="Guichet")
    factories.member(space, factories.user("tom", language="de"))
    factories.member(space, factories.user("zoe"))  # never chose: French
    dossier = factories.transmitted_dossier(space, factories.procedure(), created_by=lea)
    factories.agent("ACD", "agent.acd")
    agent_log_in(client, "agent.acd")
    page = f"/back-office/dossiers/{dossier.id}"
    response = post(client, page + "/prendre-en-charge", {}, page=page)
    assert response.status_code == 303 and page_language(client, page) == "fr"

    msgid = "Dossier %(reference)s : pris en charge"
    for to, language in (("lea@example.lu", "en"), ("tom@example.lu", "de"), ("zoe@example.lu", "fr")):
        [message] = delivered(smtp, to)
        assert mail_language(message) == language
        assert message["Subject"] == said_in(app, language, msgid, reference=dossier.reference)


def test_an_invitation_from_a_german_page_to_an_unknown_address_is_in_german(app, client, clock, smtp):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    factories.user("ann", email="ann@example.lu", language="en")
    log_in(client, lea)
    switch(client, "de")
    users = f"/espaces/{space.id}/utilisateurs"
    post(client, users + "/inviter", {"email": "tom@example.lu", "role": "reader"}, page=users)
    post(client, users + "/inviter", {"email": "ann@example.lu", "role": "reader"}, page=users)

    [unknown] = delivered(smtp, "tom@example.lu")
    assert mail_language(unknown) == "de"
    assert unknown["Subject"] == said_in(
        app, "de", "Invitation à rejoindre l'espace %(space)s", space="Guichet"
    )
    with app.test_request_context(), force_locale("de"):
        expires = format_datetime(clock.now() + timedelta(days=7), "short")
    assert expires in unknown.get_body(("plain",)).get_content()
    [known] = delivered(smtp, "ann@example.lu")
    assert mail_language(known) == "en"  # an account's address: its language


def test_the_helpdesks_answer_is_in_the_language_the_request_was_sent_in(app, client, clock, smtp):
    switch(client, "de")
    contact = {"name": "Léa", "email": "lea@example.lu", "subject": "Frage", "message": "Guten Tag"}
    assert post(client, "/contact", contact).status_code == 303
    request_ = ContactRequest.get()
    assert request_.language == "de"
    [received] = delivered(smtp, "lea@example.lu")
    assert mail_language(received) == "de"

    factories.helpdesk()
    switch(client, "fr")
    agent_log_in(client, "helpdesk")
    page = f"/back-office/helpdesk/contacts/{request_.id}"
    post(client, page + "/reponse", {"answer": "Bonjour, voici la réponse."}, page=page)
    [_received, answer] = delivered(smtp, "lea@example.lu")
    assert mail_language(answer) == "de"
    assert answer["Subject"] == said_in(app, "de", "Réponse du Helpdesk : %(subject)s", subject="Frage")


def test_reminders_sent_by_the_command_line_are_in_each_recipients_language(
    app, runner, clock, smtp, request_context
):
    catalogue.load()
    holder = factories.certified_member("lea")
    fiduciary = factories.certified_member(
        "fiona", name="Fidu", company_name="Fidu SA", identifier="B222222", street="2, avenue de la Gare"
    )
    User.update(language="de").where(User.userid == "lea").execute()
    User.update(language="en").where(User.userid == "fiona").execute()
    factories.taken_up_mandate(holder, fiduciary, days=40)
    clock.advance(days=11)
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    msgid = "Mandat bientôt expiré : %(company)s"
    for to, language in (("lea@example.lu", "de"), ("fiona@example.lu", "en")):
        message = delivered(smtp, to)[-1]  # after the mandate's own mails
        assert mail_language(message) == language
        assert message["Subject"] == said_in(app, language, msgid, company="Guichet SARL")


# --- Letters to companies: the administration's language -----------------------------------------


@pytest.fixture
def acd_in_german(app, clock, request_context):
    catalogue.load()
    Administration.update(letter_language="de").where(Administration.code == "ACD").execute()


def acd_code():
    """An ACD holder code for Guichet SARL, posted to its address."""
    access_code, _code = access_codes.issue_code(
        "ACD",
        "fiches-retenue",
        "B123456",
        "holder",
        company_name="Guichet SARL",
        address_lines=["1, rue du Commerce", "L-1000 Luxembourg"],
    )
    return access_code


def test_an_access_code_letter_is_in_its_administrations_language(app, acd_in_german, clock):
    access_code = acd_code()
    letter = Letter.get()
    assert letter.language == "de"
    kind = said_in(app, "de", "titulaire")
    assert letter.subject == said_in(
        app, "de", "Votre code d'accès %(kind)s : %(service)s", kind=kind, service="Lohnsteuerkarten"
    )
    assert dated(app, "de", access_code.activation_deadline, "medium") in letter.body  # 24.04.2026
    text = pdf_text(letters.render_pdf([letter]))  # printed from a French page
    assert "25. März 2026" in text and "mars" not in text


def test_a_mandate_letter_is_in_the_services_administrations_language(app, acd_in_german, clock):
    member = factories.certified_member("lea")
    User.update(language="en").where(User.userid == "lea").execute()
    mandate, _code = mandates.grant_mandate(
        member, member.user, Service.get(slug="fiches-retenue").id, clock.now() + timedelta(days=90)
    )
    assert Letter.get_by_id(mandate.letter_id).language == "de"


def test_letters_of_an_administration_that_chose_nothing_are_french(app, clock, request_context):
    catalogue.load()
    acd_code()
    letter = Letter.get()
    assert letter.language == "fr"
    with force_locale("de"):  # whoever prints it
        assert "25 mars 2026" in pdf_text(letters.render_pdf([letter]))


def test_unknown_or_unchosen_languages_are_written_in_french(app):
    assert languages.checked("xx") == "fr" and languages.checked("") == "fr"
    assert languages.of(None) == "fr" and languages.of(User(language="")) == "fr"
    assert languages.of(User(language="en")) == "en"
    assert not OutboxMail.select().exists()
