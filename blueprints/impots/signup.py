"""Créer mon espace professionnel: Mode simplifié and Mode expert, from the form to the account.

What the pages after a POST show (where the link went, the space created) waits in the
session for the GET that follows the 303: nothing secret, the company's address masked."""

from datetime import datetime

from flask import redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from blueprints.auth.pages import after_login_url, client_ip
from blueprints.forms import refused_beside
from blueprints.htmx import htmx_redirect
from blueprints.impots import bp
from blueprints.impots.forms import ActivationForm, ExpertForm, SimplifiedForm
from blueprints.impots.routes import TITLES, invalid, page
from blueprints.sessions import page_language
from services import DomainError, auth, impots_accounts, impots_signup

TITLES.update(
    {
        "signup": _l("Créer mon espace professionnel"),
        "simplified": _l("Créer mon espace professionnel : mode simplifié"),
        "expert": _l("Créer mon espace professionnel : mode expert"),
        "signup_sent": _l("Courriel envoyé"),
        "link": _l("Créer mon espace"),
        "link_error": _l("Lien ou code non valable"),
        "signup_done": _l("Votre espace professionnel est créé"),
        "expert_activate": _l("Activer mon espace/mes services"),
    }
)
SENT = "impots_signup_sent"
DONE = "impots_signup_done"


def refused(form, name, error, **context):
    """A service's refusal beside its field when the form has it, else above the form."""
    field = "password" if isinstance(error, auth.WeakPassword) else getattr(error, "field", None)
    if field and field in form:
        refused_beside(form[field], error.message)
        error.message = None
    return invalid(form, name, error, **context)


def gone(error, restart):
    """An expired, used, replaced or forged link or code: its page and its way forward."""
    expired = isinstance(error, impots_accounts.SignupExpired)
    return page("link_error", status=error.status, error=error.message, expired=expired, restart=restart)


def show(form, name):
    """The form as on GET, or with its errors and 422."""
    return page(name, form=form) if not form.is_submitted() else invalid(form, name)


@bp.get("/impots/creer")
def signup():
    return page("signup")


def _signup_form(form_class, name, send):
    if current_user.is_authenticated:
        return redirect(after_login_url())
    form = form_class()
    if not form.validate_on_submit():
        return show(form, name)
    try:
        sent = send(form)
    except DomainError as error:
        return refused(form, name, error)
    session[SENT] = {"mode": sent.mode, "to": sent.to, "deadline": sent.deadline.isoformat()}
    return htmx_redirect(url_for("impots.signup_sent"))


@bp.route("/impots/creer/simplifie", methods=["GET", "POST"])
def simplified():
    return _signup_form(
        SimplifiedForm,
        "simplified",
        lambda form: impots_signup.request_simplified(
            form.siren.data,
            form.first_name.data,
            form.last_name.data,
            form.email.data,
            form.password.data,
            form.accept.data,
            page_language(),
            ip=client_ip(),
        ),
    )


@bp.route("/impots/creer/expert", methods=["GET", "POST"])
def expert():
    return _signup_form(
        ExpertForm,
        "expert",
        lambda form: impots_signup.request_expert(
            form.email.data,
            form.password.data,
            form.first_name.data,
            form.last_name.data,
            form.accept.data,
            page_language(),
            ip=client_ip(),
        ),
    )


@bp.get("/impots/creer/envoye")
def signup_sent():
    sent = session.get(SENT)
    if not sent:
        return redirect(url_for("impots.signup"))
    return page("signup_sent", sent=sent, deadline=datetime.fromisoformat(sent["deadline"]))


@bp.route("/impots/creer/lien/<secret>", methods=["GET", "POST"])
def simplified_link(secret):
    """GET shows what the link will create (mail scanners follow links); POST creates it."""
    restart = url_for("impots.simplified")
    try:
        if request.method == "GET":
            signup, company = impots_signup.simplified_signup(secret)
            return page("link", signup=signup, company=company, secret=secret)
        space, adhesion = impots_signup.create_simplified_space(secret, page_language())
    except (impots_accounts.SignupGone, impots_accounts.SignupExpired) as error:
        return gone(error, restart)
    session[DONE] = {
        "mode": "simplified",
        "space": space.name,
        "deadline": adhesion.code_expires_at.isoformat(),
    }
    return htmx_redirect(url_for("impots.signup_done"))


@bp.route("/impots/activer", methods=["GET", "POST"])
def activate():
    """Activer mon espace/mes services (Mode expert): the e-mail and the code of the mail."""
    form = ActivationForm()
    if not form.validate_on_submit():
        return show(form, "expert_activate")
    try:
        space = impots_signup.activate_expert(
            form.email.data, form.code.data, page_language(), ip=client_ip()
        )
    except (impots_accounts.SignupGone, impots_accounts.SignupExpired) as error:
        return gone(error, url_for("impots.expert"))
    except DomainError as error:
        return refused(form, "expert_activate", error)
    session[DONE] = {"mode": "expert", "space": space.name, "subscriber_number": space.subscriber_number}
    return htmx_redirect(url_for("impots.signup_done"))


@bp.get("/impots/creer/termine")
def signup_done():
    done = session.get(DONE)
    if not done:
        return redirect(url_for("impots.signup"))
    deadline = datetime.fromisoformat(done["deadline"]) if done.get("deadline") else None
    return page("signup_done", done=done, deadline=deadline)
