"""Mot de passe oublié and Token perdu: a link by e-mail, then the new password (with a
one-time code) or the new Token (its QR code confirmed by a one-time code)."""

from flask import abort, flash, url_for
from flask_babel import gettext as _

from blueprints.auth import bp
from blueprints.auth.forms import (
    ForgotPasswordForm,
    LostTokenForm,
    NewPasswordForm,
    OTPForm,
    ResetPasswordForm,
)
from blueprints.auth.pages import client_ip, invalid, link_error, page, show
from blueprints.htmx import htmx_redirect
from blueprints.responses import qr_response
from services import DomainError, auth, crypto, recovery


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return show(form, "forgot_password")
    recovery.request_password_reset(form.identifier.data)
    return page("recovery_sent", kind="password")


@bp.route("/mot-de-passe-oublie/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        user = recovery.read_password_reset(token)
    except DomainError as error:
        return link_error(error)
    asks_code = recovery.asks_code(user)
    form = ResetPasswordForm() if asks_code else NewPasswordForm()
    if not form.validate_on_submit():
        return show(form, "reset_password", token=token)
    try:
        recovery.reset_password(token, form.password.data, asks_code and form.otp.data, client_ip())
    except DomainError as error:
        return invalid(form, "reset_password", error, token=token)
    flash(_("Votre mot de passe a été changé. Connectez-vous avec le nouveau mot de passe."), "success")
    return htmx_redirect(url_for("auth.login_userid" if asks_code else "impots.login"))


@bp.route("/token-perdu", methods=["GET", "POST"])
def lost_token():
    form = LostTokenForm()
    if not form.validate_on_submit():
        return show(form, "lost_token")
    try:
        recovery.request_token_reset(form.userid.data, form.password.data, client_ip())
    except DomainError as error:
        return invalid(form, "lost_token", error)
    return page("recovery_sent", kind="token")


@bp.route("/token-perdu/<token>", methods=["GET", "POST"])
def reset_token(token):
    try:
        user, secret = recovery.pending_token_secret(token)
    except DomainError as error:
        return link_error(error)
    form = OTPForm()
    context = {"secret": crypto.group(secret), "userid": user.userid, "token": token}
    if not form.validate_on_submit():
        return show(form, "reset_token", **context)
    try:
        recovery.reset_token(token, form.otp.data)
    except DomainError as error:
        return invalid(form, "reset_token", error, **context)
    flash(
        _("Votre nouveau token est enregistré. Connectez-vous avec le code de votre application."), "success"
    )
    return htmx_redirect(url_for("auth.login_userid"))


@bp.get("/token-perdu/<token>/qr.svg")
def reset_token_qr(token):
    try:
        user, secret = recovery.pending_token_secret(token)
    except DomainError:
        abort(404)
    return qr_response(auth.provisioning_uri(secret, user.userid))
