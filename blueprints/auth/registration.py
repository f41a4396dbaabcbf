"""Créer un compte: the Token (UserID, password, secret image, then the QR code confirmed by
a one-time code), Enregistrement, the e-mail confirmation and the CGU. Nothing else of the
portal opens to a logged-in person before these are done."""

from flask import abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from blueprints.auth import bp
from blueprints.auth.forms import ConfirmationCodeForm, EnrolmentForm, OTPForm, RegistrationForm, TermsForm
from blueprints.auth.login import logout
from blueprints.auth.pages import (
    STEP_ENDPOINTS,
    after_login_url,
    invalid,
    link_error,
    page,
    show,
    start_session,
)
from blueprints.htmx import htmx_redirect
from blueprints.responses import qr_response
from blueprints.sessions import page_language
from services import DomainError, accounts, auth, crypto, languages, links

# What a logged-in person who has not finished registering may still open.
OPEN_DURING_REGISTRATION = {
    "auth.register",
    "auth.confirm_pending",
    "auth.confirm_email_code",
    "auth.terms",
    "auth.logout",
    "auth.confirm_email",
    "auth.confirm_email_resend",
    "main.set_language",
    "main.healthz",  # for load balancers: no session is read
    "static",
    "dev.outbox",
    "dev.outbox_mail",
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


# --- The Token ---------------------------------------------------------------------------------


def image_choices():
    return [(image["slug"], languages.localized_entry(image, "label")) for image in auth.secret_images()]


@bp.route("/inscription", methods=["GET", "POST"])
def enrol():
    if current_user.is_authenticated:
        return redirect(after_login_url())
    form = EnrolmentForm()
    form.secret_image.choices = image_choices()
    if not form.validate_on_submit():
        return show(form, "enrol")
    try:
        product = accounts.start_enrolment(
            form.userid.data, form.password.data, form.secret_image.data, page_language()
        )
    except DomainError as error:
        return invalid(form, "enrol", error)
    session["enrolment"] = product.id
    return htmx_redirect(url_for("auth.enrol_token"))


@bp.route("/inscription/token", methods=["GET", "POST"])
def enrol_token():
    product = accounts.enrolling_product(session.get("enrolment"))
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
    product = accounts.enrolling_product(session.get("enrolment"))
    if product is None:
        abort(404)
    return qr_response(auth.provisioning_uri(auth.totp_secret(product), product.user.userid))


# --- Enregistrement, e-mail, CGU -------------------------------------------------------------


@bp.route("/inscription/enregistrement", methods=["GET", "POST"])
@login_required
def register():
    if current_user.email_confirmed_at is not None:
        return redirect(after_login_url())
    form = RegistrationForm(
        obj=current_user if request.method == "GET" and current_user.registered_at else None
    )
    if request.method == "POST" and request.form.get("cancel"):
        return logout()
    if not form.validate_on_submit():
        return show(form, "register")
    try:
        accounts.register(
            current_user,
            form.first_name.data,
            form.last_name.data,
            form.email.data,
            form.matricule.data,
            form.street.data,
            form.postcode.data,
            form.city.data,
            form.country.data,
        )
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
    flash(
        _("Votre adresse e-mail est confirmée. Un courrier postal de confirmation vous sera envoyé."),
        "success",
    )
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
    if not form.validate_on_submit():
        return show(form, "terms", renewed=accounts.terms_renewed(current_user))
    accounts.accept_terms(current_user, form.accept.data)
    flash(_("Vous êtes maintenant enregistré auprès d'Espace Pro."), "success")
    return htmx_redirect(url_for("spaces.landing"))
