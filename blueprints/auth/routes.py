import io

from flask import abort, flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

import segno
from blueprints.auth import bp
from blueprints.auth.forms import (
    ChangePasswordForm,
    ConfirmationCodeForm,
    EnrolmentForm,
    ForgotPasswordForm,
    LostTokenForm,
    OTPForm,
    PasswordForm,
    RegistrationForm,
    ResetPasswordForm,
    TermsForm,
    UserIdForm,
)
from blueprints.htmx import htmx_redirect, render_page_or_partial
from models import AuthProduct, User
from services import DomainError, accounts, auth, clock, crypto, links
from services.urls import safe_next

LOGIN_STEP_TIMEOUT = 300  # seconds between the password and the one-time code


def client_ip():
    return request.remote_addr


TITLES = {
    "login": _l("Connexion"), "login_userid": _l("Connexion"), "login_password": _l("Connexion"),
    "login_otp": _l("Connexion"), "enrol": _l("Créer un compte"), "enrol_token": _l("Créer un compte"),
    "register": _l("Enregistrement"), "confirm_pending": _l("Confirmez votre adresse e-mail"),
    "confirm_email": _l("Confirmez votre adresse e-mail"), "email_confirmed": _l("Adresse e-mail confirmée"),
    "link_error": _l("Lien non valable"), "link_resent": _l("Nouveau lien envoyé"),
    "terms": _l("Conditions générales d'utilisation"), "forgot_password": _l("Mot de passe oublié"),
    "recovery_sent": _l("E-mail envoyé"), "reset_password": _l("Nouveau mot de passe"),
    "lost_token": _l("Token perdu"), "reset_token": _l("Nouveau token"), "account": _l("Mon compte"),
}


def page(name, status=200, **context):
    """The full page around templates/auth/_<name>.html, or that card alone for htmx."""
    partial = f"auth/_{name}.html"
    return render_page_or_partial("page.html", partial, status=status, title=TITLES[name], **context)


def invalid(form, name, error=None, **context):
    """Re-render a form with its errors: 422, or the DomainError's own status."""
    status = getattr(error, "status", 422)
    response = page(name, status=status, form=form, error=error.message if error else None, **context)
    if getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def link_error(error, token=None, expired=False):
    """An expired, used or forged link: its message, its status, a new link when possible."""
    return page("link_error", status=error.status, error=error.message, expired=expired, token=token)


def show(form, name, **context):
    """The form as it is on GET; with its errors and 422 on an invalid POST."""
    if request.method == "GET":
        return page(name, form=form, **context)
    return invalid(form, name, **context)


def start_session(user):
    """A new session id at every login: drop the pre-login session, then log in."""
    next_url = session.get("login", {}).get("next")
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    user.session_token = auth.open_session(user, client_ip())
    login_user(user)
    session.permanent = True
    return next_url


def after_login_url(next_url=None, user=None):
    step = accounts.next_registration_step(user or current_user)
    if step:
        return url_for(STEP_ENDPOINTS[step])
    return safe_next(next_url) or url_for("spaces.landing")


STEP_ENDPOINTS = {"details": "auth.register", "email": "auth.confirm_pending", "terms": "auth.terms"}
# What a logged-in person who has not finished registering may still open.
OPEN_DURING_REGISTRATION = {
    "auth.register", "auth.confirm_pending", "auth.confirm_email_code", "auth.terms", "auth.logout",
    "auth.confirm_email", "auth.confirm_email_resend", "main.set_language", "static", "dev.outbox", "dev.outbox_mail",
}


@bp.before_app_request
def finish_registration_first():
    """Nothing of the portal opens before the e-mail is confirmed and the terms accepted."""
    # The endpoint first: static files must not load the session from the database.
    if request.endpoint in OPEN_DURING_REGISTRATION or not current_user.is_authenticated:
        return None
    step = accounts.next_registration_step(current_user)
    if step:
        return htmx_redirect(url_for(STEP_ENDPOINTS[step]))
    return None


# --- Connexion ----------------------------------------------------------------------------


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


def _login_state(stage):
    state = session.get("login") or {}
    if not state.get("userid") or (stage == "otp" and not state.get("user_id")):
        return None
    if stage == "otp" and clock.timestamp() - state.get("at", 0) > LOGIN_STEP_TIMEOUT:
        return None
    return state


@bp.route("/connexion/token/mot-de-passe", methods=["GET", "POST"])
def login_password():
    state = _login_state("password")
    if state is None:
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
    session["login"] = {**state, "user_id": user.id, "at": clock.timestamp()}
    return htmx_redirect(url_for("auth.login_otp"))


@bp.route("/connexion/token/otp", methods=["GET", "POST"])
def login_otp():
    state = _login_state("otp")
    if state is None:
        flash(_("Veuillez vous authentifier à nouveau."), "warning")
        return htmx_redirect(url_for("auth.login_userid"))
    form = OTPForm()
    user = User.get_by_id(state["user_id"])
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
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Vous êtes déconnecté."), "success")
    return htmx_redirect(url_for("main.home"))


# --- Créer un compte: the Token -------------------------------------------------------------


def image_choices():
    return [(image["slug"], image["label"]) for image in auth.secret_images()]


@bp.route("/inscription", methods=["GET", "POST"])
def enrol():
    if current_user.is_authenticated:
        return redirect(after_login_url())
    form = EnrolmentForm()
    form.secret_image.choices = image_choices()
    if not form.validate_on_submit():
        return show(form, "enrol")
    try:
        product = accounts.start_enrolment(form.userid.data, form.password.data, form.secret_image.data)
    except DomainError as error:
        return invalid(form, "enrol", error)
    session["enrolment"] = product.id
    return htmx_redirect(url_for("auth.enrol_token"))


def _enrolling_product():
    product_id = session.get("enrolment")
    product = AuthProduct.get_or_none(AuthProduct.id == product_id) if product_id else None
    return product if product and product.enrolled_at is None else None


@bp.route("/inscription/token", methods=["GET", "POST"])
def enrol_token():
    product = _enrolling_product()
    if product is None:
        return htmx_redirect(url_for("auth.enrol"))
    form = OTPForm()
    secret = auth.totp_secret(product)
    context = {"secret": crypto.group(secret), "userid": product.user.userid}
    if not form.validate_on_submit():
        return show(form, "enrol_token", **context)
    try:
        accounts.confirm_enrolment(product, form.otp.data)
    except DomainError as error:
        return invalid(form, "enrol_token", error, **context)
    start_session(product.user)
    return htmx_redirect(url_for("auth.register"))


@bp.get("/inscription/token/qr.svg")
def enrol_qr():
    product = _enrolling_product()
    if product is None:
        abort(404)
    return qr_response(auth.provisioning_uri(auth.totp_secret(product), product.user.userid))


def qr_response(uri):
    """A standalone SVG document (XML declaration, SVG namespace): what an <img> loads. The
    inline flavour has no namespace, so browsers show it as a broken image."""
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", scale=5, title=_("Code QR à scanner"))
    response = make_response(svg.getvalue())
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Enregistrement, e-mail, CGU -------------------------------------------------------------


@bp.route("/inscription/enregistrement", methods=["GET", "POST"])
@login_required
def register():
    if current_user.email_confirmed_at is not None:
        return redirect(after_login_url())
    form = RegistrationForm(obj=current_user if request.method == "GET" and current_user.registered_at else None)
    if request.method == "POST" and request.form.get("cancel"):
        return logout()
    if not form.validate_on_submit():
        return show(form, "register")
    try:
        accounts.register(current_user, form.first_name.data, form.last_name.data, form.email.data,
                          form.matricule.data, form.street.data, form.postcode.data, form.city.data, form.country.data)
    except DomainError as error:
        return invalid(form, "register", error)
    return htmx_redirect(url_for("auth.confirm_pending"))


@bp.route("/inscription/courriel", methods=["GET", "POST"])
@login_required
def confirm_pending():
    if current_user.email_confirmed_at is not None:
        return redirect(after_login_url())
    if current_user.registered_at is None:
        return redirect(url_for("auth.register"))
    if request.method == "POST":
        accounts.send_confirmation(current_user)
        flash(_("Un nouveau lien vous a été envoyé. Le lien précédent ne fonctionne plus."), "success")
        return htmx_redirect(url_for("auth.confirm_pending"))
    return page("confirm_pending", form=ConfirmationCodeForm(), **confirm_pending_context())


def confirm_pending_context():
    return {"user": current_user, "deadline": accounts.confirmation_deadline(current_user)}


@bp.post("/inscription/courriel/code")
@login_required
def confirm_email_code():
    """The security code of the mail, typed instead of following the link."""
    if current_user.email_confirmed_at is not None or current_user.registered_at is None:
        return htmx_redirect(after_login_url())
    form = ConfirmationCodeForm()
    if not form.validate_on_submit():
        return invalid(form, "confirm_pending", **confirm_pending_context())
    try:
        user = accounts.confirm_email_code(current_user, form.code.data)
    except DomainError as error:
        return invalid(form, "confirm_pending", error, **confirm_pending_context())
    flash(_("Votre adresse e-mail est confirmée. Un courrier postal de confirmation vous sera envoyé."), "success")
    return htmx_redirect(after_login_url(user=user))


@bp.route("/inscription/confirmer/<token>", methods=["GET", "POST"])
def confirm_email(token):
    """GET shows the button (mail scanners that follow links must not use it up); POST confirms."""
    try:
        if request.method == "POST":
            user = accounts.confirm_email(token)
        else:
            user, _code = accounts.read_confirmation(token)
    except links.LinkExpired as error:
        return link_error(error, token=token, expired=bool(error.payload))
    except DomainError as error:
        return link_error(error, token=token)
    if request.method == "GET":
        return page("confirm_email", user=user, token=token)
    if current_user.is_authenticated:  # "Vous devez vous authentifier une nouvelle fois."
        auth.revoke_session(current_user.session_token)
        logout_user()
    return page("email_confirmed", user=user)


@bp.post("/inscription/confirmer/<token>/nouveau-lien")
def confirm_email_resend(token):
    try:
        user = accounts.resend_expired_confirmation(token)
    except DomainError as error:
        return link_error(error, token=token)
    return page("link_resent", user=user)


@bp.route("/cgu", methods=["GET", "POST"])
@login_required
def terms():
    form = TermsForm()
    renewed = current_user.terms_version is not None and current_user.terms_version != accounts.current_terms_version()
    if not form.validate_on_submit():
        return show(form, "terms", renewed=renewed)
    accounts.accept_terms(current_user, form.accept.data)
    flash(_("Vous êtes maintenant enregistré auprès d'Espace Pro."), "success")
    return htmx_redirect(url_for("spaces.landing"))


# --- Forgotten password, lost token, Mon compte ------------------------------------------------


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return show(form, "forgot_password")
    accounts.request_password_reset(form.identifier.data)
    return page("recovery_sent", kind="password")


@bp.route("/mot-de-passe-oublie/<token>", methods=["GET", "POST"])
def reset_password(token):
    try:
        accounts.read_password_reset(token)
    except DomainError as error:
        return link_error(error)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return show(form, "reset_password", token=token)
    try:
        accounts.reset_password(token, form.password.data, form.otp.data, client_ip())
    except DomainError as error:
        return invalid(form, "reset_password", error, token=token)
    flash(_("Votre mot de passe a été changé. Connectez-vous avec le nouveau mot de passe."), "success")
    return htmx_redirect(url_for("auth.login_userid"))


@bp.route("/token-perdu", methods=["GET", "POST"])
def lost_token():
    form = LostTokenForm()
    if not form.validate_on_submit():
        return show(form, "lost_token")
    try:
        accounts.request_token_reset(form.userid.data, form.password.data, client_ip())
    except DomainError as error:
        return invalid(form, "lost_token", error)
    return page("recovery_sent", kind="token")


@bp.route("/token-perdu/<token>", methods=["GET", "POST"])
def reset_token(token):
    try:
        user, secret = accounts.pending_token_secret(token)
    except DomainError as error:
        return link_error(error)
    form = OTPForm()
    context = {"secret": crypto.group(secret), "userid": user.userid, "token": token}
    if not form.validate_on_submit():
        return show(form, "reset_token", **context)
    try:
        accounts.reset_token(token, form.otp.data)
    except DomainError as error:
        return invalid(form, "reset_token", error, **context)
    flash(_("Votre nouveau token est enregistré. Connectez-vous avec le code de votre application."), "success")
    return htmx_redirect(url_for("auth.login_userid"))


@bp.get("/token-perdu/<token>/qr.svg")
def reset_token_qr(token):
    try:
        user, secret = accounts.pending_token_secret(token)
    except DomainError:
        abort(404)
    return qr_response(auth.provisioning_uri(secret, user.userid))


@bp.route("/compte", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return show(form, "account")
    try:
        auth.change_password(current_user, form.current_password.data, form.password.data, current_user.session_token,
                             client_ip())
    except DomainError as error:
        return invalid(form, "account", error)
    flash(_("Votre mot de passe a été changé. Vos autres sessions sont fermées."), "success")
    return htmx_redirect(url_for("auth.account"))
