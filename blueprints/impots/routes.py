"""Connexion with the "Espace professionnel impots" product: e-mail and password, one step."""

from flask import redirect
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from blueprints.auth.pages import after_login_url, client_ip, start_session
from blueprints.errors import with_retry_after
from blueprints.htmx import htmx_redirect, render_page_or_partial
from blueprints.impots import bp
from blueprints.impots.forms import LoginForm
from services import DomainError, impots_accounts

TITLES = {
    "login": _l("Connexion à l'espace professionnel impots"),
}


def page(name, status=200, **context):
    """The full page around templates/impots/_<name>.html, or that card alone for htmx."""
    return render_page_or_partial(
        "page.html", f"impots/_{name}.html", status=status, title=TITLES[name], **context
    )


def invalid(form, name, error=None, **context):
    status = getattr(error, "status", 422)
    return with_retry_after(
        page(name, status=status, form=form, error=error.message if error else None, **context), error
    )


@bp.route("/impots/connexion", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(after_login_url())
    form = LoginForm()
    if not form.validate_on_submit():
        return page("login", form=form) if not form.is_submitted() else invalid(form, "login")
    try:
        user = impots_accounts.login(form.email.data, form.password.data, client_ip())
    except DomainError as error:
        return invalid(form, "login", error)
    next_url = start_session(user)
    return htmx_redirect(after_login_url(next_url))
