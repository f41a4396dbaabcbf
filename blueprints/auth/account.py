"""Mon compte: changing the password closes the person's other sessions."""

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.auth import bp
from blueprints.auth.forms import ChangePasswordForm
from blueprints.auth.pages import client_ip, invalid, show
from blueprints.htmx import htmx_redirect
from services import DomainError, auth


@bp.route("/compte", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return show(form, "account")
    try:
        auth.change_password(
            current_user,
            form.current_password.data,
            form.password.data,
            current_user.session_token,
            client_ip(),
        )
    except DomainError as error:
        return invalid(form, "account", error)
    flash(_("Votre mot de passe a été changé. Vos autres sessions sont fermées."), "success")
    return htmx_redirect(url_for("auth.account"))
