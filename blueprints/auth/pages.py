"""What the auth journeys share: their card page, forms shown again with their errors, the
session a login opens and where it leads next."""

from flask import request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from blueprints.errors import with_retry_after
from blueprints.htmx import render_page_or_partial
from blueprints.sessions import adopt_language, fresh_session
from services import accounts, auth
from services.urls import safe_next

TITLES = {
    "login": _l("Connexion"),
    "login_userid": _l("Connexion"),
    "login_password": _l("Connexion"),
    "login_otp": _l("Connexion"),
    "enrol": _l("Créer un compte"),
    "enrol_token": _l("Créer un compte"),
    "register": _l("Enregistrement"),
    "confirm_pending": _l("Confirmez votre adresse e-mail"),
    "confirm_email": _l("Confirmez votre adresse e-mail"),
    "email_confirmed": _l("Adresse e-mail confirmée"),
    "link_error": _l("Lien non valable"),
    "link_resent": _l("Nouveau lien envoyé"),
    "terms": _l("Conditions générales d'utilisation"),
    "forgot_password": _l("Mot de passe oublié"),
    "recovery_sent": _l("E-mail envoyé"),
    "reset_password": _l("Nouveau mot de passe"),
    "lost_token": _l("Token perdu"),
    "reset_token": _l("Nouveau token"),
    "account": _l("Mon compte"),
}
# Where a person who has not finished registering is sent, by services.accounts' step.
STEP_ENDPOINTS = {"details": "auth.register", "email": "auth.confirm_pending", "terms": "auth.terms"}


def client_ip():
    return request.remote_addr


def page(name, status=200, **context):
    """The full page around templates/auth/_<name>.html, or that card alone for htmx."""
    partial = f"auth/_{name}.html"
    return render_page_or_partial("page.html", partial, status=status, title=TITLES[name], **context)


def invalid(form, name, error=None, **context):
    """Re-render a form with its errors: 422, or the DomainError's own status."""
    status = getattr(error, "status", 422)
    return with_retry_after(
        page(name, status=status, form=form, error=error.message if error else None, **context), error
    )


def link_error(error, token=None, expired=False):
    """An expired, used or forged link: its message, its status, a new link when possible."""
    return page("link_error", status=error.status, error=error.message, expired=expired, token=token)


def show(form, name, **context):
    """The form as it is on GET; with its errors and 422 on an invalid POST."""
    if request.method == "GET":
        return page(name, form=form, **context)
    return invalid(form, name, **context)


def start_session(user):
    """A new session id at every login: drop the pre-login session, then log in. Returns
    where the person was going before the login."""
    next_url = session.get("login", {}).get("next")
    fresh_session()
    adopt_language(user)
    user.session_token = auth.open_session(user, client_ip())
    login_user(user)
    session.permanent = True
    return next_url


def after_login_url(next_url=None, user=None):
    step = accounts.next_registration_step(user or current_user)
    if step:
        return url_for(STEP_ENDPOINTS[step])
    return safe_next(next_url) or url_for("spaces.landing")
