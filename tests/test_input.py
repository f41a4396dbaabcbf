"""Input at the edge: control characters refused before anything reads them, single-line
fields without line breaks, every form limit within the column it ends in, redirect
targets, and a database that does not answer."""

import re
import socket

import pytest
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

import factories
from app import create_app
from blueprints.forms import Form
from helpers import HTMX, csrf_token, log_in
from models import (
    AccessCode,
    Adhesion,
    Administration,
    AuditEntry,
    CertificationRequest,
    Communication,
    CommunicationRecipient,
    ContactRequest,
    DossierMessage,
    Feedback,
    ImpotsSignup,
    Invitation,
    Letter,
    Mandate,
    OutboxMail,
    Service,
    Space,
    SpaceDraft,
    User,
    VaultEntry,
    db,
)
from services import mail, memberships, spaces
from services.urls import safe_next

REFUSED = "caractères de contrôle"
ONE_LINE = "Ce champ tient sur une seule ligne"


def token(client, path="/"):
    return csrf_token(client.get(path).get_data(as_text=True))


# --- Control characters, once, at the edge ------------------------------------------------------


def _every_rule(app, method):
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint != "static":
            yield adapter.build(rule.endpoint, {name: 1 for name in rule.arguments}, method=method)


def test_a_nul_byte_is_refused_everywhere_before_the_database(app, client, clock):
    """No page answers a NUL (or another control character) with anything but the 400 page,
    logged in or not; nothing is stored."""
    log_in(client, factories.user("lea"))
    csrf = token(client)
    for url in _every_rule(app, "GET"):
        for query in ("q=%00", "next=/%0D%0ALocation:%20x", "x=%1B"):
            response = client.get(f"{url}?{query}")
            assert response.status_code == 400 and REFUSED in response.get_data(as_text=True), (url, query)
    for url in _every_rule(app, "POST"):
        for data in ({"name": "Guichet\x00"}, {"reason": "a\x07b"}, {"x\x00": "name"}):
            response = client.post(url, data={**data, "csrf_token": csrf})
            assert response.status_code == 400 and REFUSED in response.get_data(as_text=True), (url, data)
    assert client.get("/%00").status_code == 400
    assert client.post("/langue", json={"lang": "fr\x00"}, headers={"X-CSRFToken": csrf}).status_code == 400
    assert SpaceDraft.select().count() == 0 and Space.select().count() == 0


def test_refusal_as_htmx_goes_to_the_main_area(client):
    response = client.get("/?q=%00", headers=HTMX)
    assert response.status_code == 400 and response.headers["HX-Retarget"] == "#main"
    assert REFUSED in response.get_data(as_text=True) and "<html" not in response.get_data(as_text=True)


def test_multi_line_text_keeps_its_tabs_and_line_breaks(app, client):
    @app.post("/echo")
    def echo():
        from flask import request

        return repr(request.form["reason"])

    response = client.post("/echo", data={"reason": "Ligne 1\r\n\tLigne 2", "csrf_token": token(client)})
    assert response.status_code == 200 and response.get_data(as_text=True) == repr("Ligne 1\r\n\tLigne 2")


def test_a_nul_in_the_wizard_changes_nothing_and_the_space_is_created(client, clock):
    log_in(client, factories.user("lea"))
    csrf = token(client, "/espaces")
    client.post("/espaces/nouveau/cgu", data={"accept": "y", "csrf_token": csrf})
    client.post("/espaces/nouveau/nom", data={"name": "Guichet", "csrf_token": csrf})
    company = {**factories.COMPANY_FORM, "csrf_token": csrf}
    before = SpaceDraft.get().data
    refused = client.post("/espaces/nouveau/entreprise", data={**company, "company_name": "Guichet\x00 SARL"})
    assert refused.status_code == 400 and SpaceDraft.get().data == before
    assert client.post("/espaces/nouveau/entreprise", data=company).status_code == 303
    draft = SpaceDraft.get().id
    created = client.post("/espaces/nouveau/verification", data={"draft": draft, "csrf_token": csrf})
    assert created.status_code == 303 and Space.get().company_name == "Guichet SARL"


def test_stored_drafts_lose_their_control_characters(app):
    """Migration 0003: drafts written before the edge refused them."""
    import migrations

    lea = factories.user("lea")
    SpaceDraft.create(
        user=lea, data={"name": "Guichet", "company_name": "Gui\x00chet\r\nSARL", "done": ["name"]}
    )
    [clean] = [function for version, _, function in migrations.MIGRATIONS if version == "0003"]
    clean(None)
    assert SpaceDraft.get().data == {"name": "Guichet", "company_name": "Guichet SARL", "done": ["name"]}


# --- Single-line fields ---------------------------------------------------------------------------


def all_forms():
    """Every form of the blueprints (imported by create_app: use the `app` fixture)."""
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        found.append(form)
        todo.extend(form.__subclasses__())
    return [form for form in found if form is not Form and form.__module__.startswith("blueprints.")]


def text_fields(form_class):
    """(name, unbound field) of the form's text fields, single-line or not."""
    return [
        (name, field) for name, field in vars_of(form_class) if issubclass(field.field_class, StringField)
    ]


def vars_of(form_class):
    from wtforms.fields.core import UnboundField

    names = {}
    for klass in reversed(form_class.__mro__):
        names.update({name: value for name, value in vars(klass).items() if isinstance(value, UnboundField)})
    return sorted(names.items())


def test_every_form_has_the_common_base(app):
    forms = all_forms()
    assert len(forms) > 20
    assert [form.__name__ for form in forms if not issubclass(form, Form)] == []


def test_every_single_line_field_refuses_line_breaks(app):
    for form_class in all_forms():
        for name, field in text_fields(form_class):
            with app.test_request_context(method="POST", data={name: "Guichet\r\nBcc: eve@example.lu"}):
                form = form_class()
                for bound in form:
                    if hasattr(bound, "choices") and bound.choices is None:
                        bound.choices = []
                form.validate()
                refused = any(ONE_LINE in str(error) for error in form[name].errors)
                assert refused is not issubclass(field.field_class, TextAreaField), (
                    form_class.__name__,
                    name,
                )


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_line_break_in_a_space_name_is_a_field_error(client, clock, headers):
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet")
    log_in(client, lea)
    response = client.post(
        f"/espaces/{space.id}/profil",
        headers=headers,
        data={"name": "Guichet\r\nBcc: eve@example.lu", "csrf_token": token(client, "/espaces")},
    )
    assert response.status_code == 422 and ONE_LINE in response.get_data(as_text=True)
    assert Space.get_by_id(space.id).name == "Guichet"


def test_mail_subjects_stay_on_one_line(app, smtp, clock):
    """A space named before line breaks were refused: its invitations still go out."""
    lea = factories.user("lea")
    space = factories.space(lea, name="Guichet\r\nBcc: eve@example.lu")
    with app.test_request_context():
        memberships.invite(spaces.membership_for(lea, space.id), lea, "zoe@example.lu", "reader")
    assert mail.deliver_due() == (1, 0)
    [message] = smtp.messages
    assert message["Subject"] == "Invitation à rejoindre l'espace Guichet Bcc: eve@example.lu"
    assert message["Bcc"] is None


# --- Redirect targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target, cleaned",
    [
        ("/compte", "/compte"),
        ("  /espaces?page=2 ", "/espaces?page=2"),
        ("/compte\r\nSet-Cookie: x=1", None),
        ("/\t/evil.example", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("//[", None),
        ("compte", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next(target, cleaned):
    assert safe_next(target) == cleaned


def test_next_with_a_line_break_never_reaches_the_login(client, clock):
    """The target is refused at the door, and one kept from before goes to the default."""
    factories.user("lea")
    assert client.get("/connexion?next=/compte%0D%0AX:%201").status_code == 400
    with client.session_transaction() as session:
        session["login"] = {"next": "/compte\r\nX: 1"}
    from test_auth_http import login

    response = login(client)
    assert response.status_code == 303 and response.headers["Location"] == "/mon-espace"


# --- Lengths: every form limit fits its column ---------------------------------------------------

# Where each form's text field ends up. A new text field must be added here or to NOT_STORED.
STORED = {
    "EnrolmentForm.userid": User.userid,
    "RegistrationForm.first_name": User.first_name,
    "RegistrationForm.last_name": User.last_name,
    "RegistrationForm.email": User.email,
    "RegistrationForm.street": User.street,
    "RegistrationForm.postcode": User.postcode,
    "RegistrationForm.city": User.city,
    "RegistrationForm.country": User.country,
    "SpaceNameForm.name": Space.name,
    "CompanyForm.company_name": Space.company_name,
    "CompanyForm.identifier": Space.identifier,
    "CompanyForm.vat_number": Space.vat_number,
    "CompanyForm.street": Space.street,
    "CompanyForm.postcode": Space.postcode,
    "CompanyForm.city": Space.city,
    "CompanyForm.country": Space.country,
    "CompanyForm.company_email": Space.company_email,
    "CompanyForm.phone": Space.phone,
    "InviteForm.email": Invitation.email,
    "MandateForm.note": Mandate.note,
    "RequestForm.reason": CertificationRequest.reason,
    "DecisionForm.reason": CertificationRequest.decision_reason,
    # A text column; services.vault also holds each key to its own maximum length.
    "DataAddForm.value": VaultEntry.value,
    "DataValueForm.value": VaultEntry.value,
    "MessageForm.body": DossierMessage.body,
    # A complement's message and a refusal's reason are posted in the thread (the reason is
    # also the history entry's note, a text column too).
    "DossierDecisionForm.text": DossierMessage.body,
    "DossierMessageForm.body": DossierMessage.body,
    "CommunicationForm.identifier": CommunicationRecipient.company_identifier,
    "CommunicationForm.subject": Communication.subject,
    "CommunicationForm.body": Communication.body,
    "IssueCodeForm.company_name": AccessCode.company_name,
    "IssueCodeForm.address": Letter.address,  # a text column; services.access_codes limits each line
    # The helpdesk's catalogue.
    "AdministrationEditForm.name": Administration.name,
    "AdministrationEditForm.certification_text": Administration.certification_text,
    "AdministrationForm.code": Administration.code,
    "AdministrationForm.name": Administration.name,
    "AdministrationForm.certification_text": Administration.certification_text,
    "ServiceEditForm.name": Service.name,
    "ServiceEditForm.description": Service.description,
    "ServiceForm.slug": Service.slug,
    "ServiceForm.name": Service.name,
    "ServiceForm.description": Service.description,
    # Their German and English texts: the rows' translations (JSON, no length of its own).
    **{
        f"{form}.{column.name}_{language}": column.model.translations
        for form, columns in (
            ("AdministrationEditForm", (Administration.name, Administration.certification_text)),
            ("AdministrationForm", (Administration.name, Administration.certification_text)),
            ("ServiceEditForm", (Service.name, Service.description)),
            ("ServiceForm", (Service.name, Service.description)),
        )
        for column in columns
        for language in ("de", "en")
    },
    # Contacter le Helpdesk, its answer, Votre avis nous intéresse (the page: its path).
    "ContactForm.name": ContactRequest.name,
    "ContactForm.email": ContactRequest.email,
    "ContactForm.subject": ContactRequest.subject,
    "ContactForm.message": ContactRequest.message,
    "ContactAnswerForm.answer": ContactRequest.answer,
    "FeedbackForm.page": Feedback.page,
    "FeedbackForm.comment": Feedback.comment,
    # Créer mon espace professionnel: both modes' forms; the login e-mail becomes the UserID.
    **{
        f"{form}.{name}": column
        for form in ("SignupForm", "SimplifiedForm", "ExpertForm")
        for name, column in (
            ("first_name", ImpotsSignup.first_name),
            ("last_name", ImpotsSignup.last_name),
            ("email", User.userid),
        )
    },
    "AdhesionForm.siren": Adhesion.company_identifier,
    "AdhesionForm.company_email": Adhesion.company_email,
    "AdhesionForm.iban": Adhesion.iban,
    "AdhesionForm.account_holder": Adhesion.account_holder,
}
# Compared, hashed or looked up, never stored as typed.
NOT_STORED = {
    "SirenForm.siren",
    "ActivationCodeForm.code",
    "UserIdForm.userid",
    "PasswordForm.password",
    "OTPForm.otp",
    "EnrolmentForm.password",
    "EnrolmentForm.password_confirm",
    "ForgotPasswordForm.identifier",
    "ResetPasswordForm.otp",
    "ResetPasswordForm.password",
    "ResetPasswordForm.password_confirm",
    "LostTokenForm.userid",
    "LostTokenForm.password",
    "ChangePasswordForm.current_password",
    "ChangePasswordForm.password",
    "ChangePasswordForm.password_confirm",
    "AgentLoginForm.userid",
    "AgentLoginForm.password",
    "LoginForm.email",
    "LoginForm.password",
    "NewPasswordForm.password",
    "NewPasswordForm.password_confirm",
    "CodeForm.code",
    "ConfirmationCodeForm.code",
    "LanguageForm.lang",
    "LanguageForm.next",
    "DeleteForm.name",
    "RegistrationForm.matricule",  # stored once reduced to its 13 digits by the validator
    "SignForm.otp",
    "IssueCodeForm.company_identifier",  # stored once reduced to its RCS or SIREN by the validator
    "SpaceLimitForm.userid",  # the helpdesk's: looked up
    "UnlockForm.userid",
    *(
        f"{form}.{name}"
        for form in ("SignupForm", "SimplifiedForm", "ExpertForm")
        for name in ("password", "password_confirm")
    ),
    "SimplifiedForm.siren",  # looked up in the register once reduced to its 9 digits
    "ActivationForm.email",
    "ActivationForm.code",
}


def max_length(field):
    limits = [v.max for v in field.kwargs.get("validators", []) if isinstance(v, Length) and v.max >= 0]
    return min(limits) if limits else None


def test_every_form_limit_fits_its_column(app):
    seen = set()
    for form_class in all_forms():
        for name, field in text_fields(form_class):
            key = f"{form_class.__name__}.{name}"
            seen.add(key)
            assert (key in STORED) != (key in NOT_STORED), f"{key}: say where it is stored, or that it is not"
            column = STORED.get(key)
            limit = getattr(column, "max_length", None)
            if column is not None:
                assert max_length(field) is not None, f"{key} has no Length(max=…)"
            if limit is not None:
                assert max_length(field) <= limit, (
                    f"{key}: the form takes {max_length(field)}, the column {limit}"
                )
    assert seen == set(STORED) | NOT_STORED


LONG_EMAIL = "l" * 64 + "@" + "e" * 63 + "." + "x" * 63 + "." + "a" * 58 + ".lu"  # 254, the most there is


def test_forms_at_maximum_length_never_fail(client, clock):
    """The longest values every form takes, through registration, the private space, the
    wizard, renaming and inviting: no 500, on PostgreSQL (which enforces lengths) too."""
    assert len(LONG_EMAIL) == 254
    factories.user("lea", registered=False)
    lea = User.get()
    log_in(client, lea)
    csrf = token(client, "/inscription/enregistrement")
    registered = client.post(
        "/inscription/enregistrement",
        data={
            "first_name": "É" * 100,
            "last_name": "é" * 100,
            "email": LONG_EMAIL,
            "matricule": "1983081974925",
            "street": "r" * 200,
            "postcode": "L" * 20,
            "city": "c" * 100,
            "country": "p" * 100,
            "csrf_token": csrf,
        },
    )
    assert registered.status_code == 303, registered.get_data(as_text=True)[:300]
    link = re.search(r"http://localhost(/inscription/confirmer/\S+)", OutboxMail.get().body_text).group(1)
    assert client.post(link, data={"csrf_token": csrf}).status_code == 200
    assert User.get().email_confirmed_at is not None

    log_in(client, User.get())
    csrf = token(client, "/cgu")
    assert client.post("/cgu", data={"accept": "y", "csrf_token": csrf}).status_code == 303
    assert client.post("/espaces/prive", data={"csrf_token": csrf}).status_code == 303
    assert Space.get(Space.kind == "private").name == ("É" * 100 + " " + "é" * 100)[:100]

    client.post("/espaces/nouveau/cgu", data={"accept": "y", "csrf_token": csrf})
    default_name = re.search(
        r'name="name"[^>]*value="([^"]*)"', client.get("/espaces/nouveau/nom").get_data(as_text=True)
    )
    named = client.post("/espaces/nouveau/nom", data={"name": default_name.group(1), "csrf_token": csrf})
    assert named.status_code == 303, named.get_data(as_text=True)[:300]
    company = {
        **factories.COMPANY_FORM,
        "company_name": "s" * 200,
        "street": "r" * 200,
        "postcode": "p" * 20,
        "city": "c" * 100,
        "country": "y" * 100,
        "company_email": LONG_EMAIL,
        "phone": "+352 " + "4" * 35,
        "csrf_token": csrf,
    }
    assert client.post("/espaces/nouveau/entreprise", data=company).status_code == 303
    created = client.post(
        "/espaces/nouveau/verification", data={"draft": SpaceDraft.get().id, "csrf_token": csrf}
    )
    assert created.status_code == 303
    space = Space.get(Space.kind == "professional")

    renamed = client.post(f"/espaces/{space.id}/profil", data={"name": "n" * 100, "csrf_token": csrf})
    assert renamed.status_code == 303 and Space.get_by_id(space.id).name == "n" * 100
    invited = client.post(
        f"/espaces/{space.id}/utilisateurs/inviter",
        data={"email": "z" + LONG_EMAIL[1:], "role": "reader", "csrf_token": csrf},
    )
    assert invited.status_code == 303
    assert max(len(entry.actor) for entry in AuditEntry.select()) == AuditEntry.actor.max_length


def test_the_longest_agent_name_fits_the_audit(app):
    """An agent's name (200) with the administration's code after it."""
    from services import audit

    class Agent:
        id = 1
        display_name = "A" * 200 + " (ALVA)"

    assert audit.record("certification.request_approved", actor=Agent()).actor == "A" * 200


# --- The database does not answer -----------------------------------------------------------------


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again once the socket is


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_unreachable_database_answers_503(kind, tmp_path, database_url):
    url = (
        f"postgresql://espace@127.0.0.1:{_closed_port()}/espace_pro"
        if kind == "postgresql"
        else f"sqlite:///{tmp_path}"
    )  # a directory: the file cannot be opened
    unreachable = create_app({"ESPACE_ENV": "test", "DATABASE_URL": url})
    try:
        client = unreachable.test_client()
        for headers in ({}, HTMX):
            response = client.get("/", headers=headers)
            html = response.get_data(as_text=True)
            assert response.status_code == 503, html[:300]
            assert response.headers["Retry-After"] == "30"
            assert "La base de données ne répond pas" in html
            assert ("<html" in html) is not bool(headers)
        assert client.get("/static/css/app.css").status_code == 200  # files need no database
        assert client.get("/healthz").status_code == 503
    finally:
        create_app({"ESPACE_ENV": "test", "DATABASE_URL": database_url})  # the suite's database again


def test_connection_lost_mid_request_answers_503(app, client):
    if "postgresql" not in app.config["DATABASE_URL"]:
        pytest.skip("PostgreSQL: a server ending the connection")

    @app.get("/lost")
    def lost():
        db.execute_sql("SELECT pg_terminate_backend(pg_backend_pid())")
        return "not reached"

    response = client.get("/lost")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert client.get("/").status_code == 200  # the next request has a new connection
