"""Connexion with the Token (UserID, then secret image and password, then the one-time
code) and Se déconnecter. Between the steps the session keeps `login`: where the person was
going, the UserID typed, and once the password is accepted whose it was and when."""

from flask import flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import OTPForm, PasswordForm, UserIdForm
from blueprints.auth.pages import after_login_url, client_ip, invalid, page, show, start_session
from blueprints.htmx import htmx_redirect
from blueprints.sessions import fresh_session
from services import DomainError, auth
from services.urls import safe_next


@bp.get("/connexion")
def login():
    if current_user.is_authenticated:
        return redirect(after_login_url())
    next_url = safe_next(request.args.get("next"))
    if next_url:
        session["login"] = {"next": next_url}
    return page("login", products=auth.PRODUCTS.values())


@bp.route("/connexion/token", methods=["GET", "POST"])
def login_userid():
    form = UserIdForm()
    if not form.validate_on_submit():
        return show(form, "login_userid")
    session["login"] = {"next": session.get("login", {}).get("next"), "userid": form.userid.data.strip()[:64]}
    return htmx_redirect(url_for("auth.login_password"))


@bp.route("/connexion/token/mot-de-passe", methods=["GET", "POST"])
def login_password():
    state = session.get("login") or {}
    if not state.get("userid"):
        return htmx_redirect(url_for("auth.login_userid"))
    form = PasswordForm()
    context = {"userid": state["userid"], "image": auth.secret_image_for(state["userid"])}
    if not form.validate_on_submit():
        return show(form, "login_password", **context)
    try:
        user = auth.check_password(state["userid"], form.password.data, client_ip())
    except DomainError as error:
        return invalid(form, "login_password", error, **context)
    product = auth.token_product(user)
    if product.enrolled_at is None:  # enrolment left half-way: show the QR code again
        session.pop("login", None)
        session["enrolment"] = product.id
        return htmx_redirect(url_for("auth.enrol_token"))
    session["login"] = {"next": state.get("next"), "userid": state["userid"], **auth.password_accepted(user)}
    return htmx_redirect(url_for("auth.login_otp"))


@bp.route("/connexion/token/otp", methods=["GET", "POST"])
def login_otp():
    user = auth.pending_login(session.get("login"))
    if user is None:
        flash(_("Veuillez vous authentifier à nouveau."), "warning")
        return htmx_redirect(url_for("auth.login_userid"))
    form = OTPForm()
    if not form.validate_on_submit():
        return show(form, "login_otp")
    try:
        auth.check_otp(user, form.otp.data, client_ip())
    except DomainError as error:
        return invalid(form, "login_otp", error)
    next_url = start_session(user)
    return htmx_redirect(after_login_url(next_url))


@bp.post("/deconnexion")
def logout():
    token = getattr(current_user, "session_token", None)
    if token:
        auth.revoke_session(token)
    logout_user()
    fresh_session()
    flash(_("Vous êtes déconnecté."), "success")
    return htmx_redirect(url_for("main.home"))
