"""Connexion, Créer un compte (enrolment, Enregistrement, e-mail confirmation, CGU),
forgotten password, lost token, Mon compte: one Blueprint, a module per journey (login,
registration, recovery, account) and what they share (pages)."""

from flask import Blueprint, flash, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from blueprints.htmx import htmx_redirect
from services import auth

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_message = _l("Veuillez vous connecter pour accéder à cette page.")
login_manager.login_message_category = "warning"


@login_manager.user_loader
def load_user(token):
    """Flask-Login's id is the session token; the database says whether it is still live."""
    return auth.load_session(token)


@login_manager.unauthorized_handler
def unauthorized():
    flash(login_manager.login_message, login_manager.login_message_category)
    session["login"] = {"next": request.full_path.rstrip("?") if request.method == "GET" else None}
    return htmx_redirect(url_for("auth.login"))


def init_app(app):
    login_manager.init_app(app)
    app.register_blueprint(bp)


from blueprints.auth import account, login, recovery, registration  # noqa: E402,F401
