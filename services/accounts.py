"""Becoming a user: enrol a Token, fill in the Enregistrement form, confirm the
e-mail within 72 hours (a postal letter follows), accept the terms. Getting back in is
recovery.py."""

import re
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from models import AuthProduct, User, db
from services import DomainError, audit, auth, crypto, languages, letters, links, throttle
from services.mail import queue_mail
from services.urls import external_url

CONFIRMATION_VALIDITY = timedelta(hours=72)
USERID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")


class UserIdTaken(DomainError):
    status = 409
    message = _l("Ce UserID est déjà utilisé : choisissez-en un autre.")


class InvalidUserId(DomainError):
    status = 422
    message = _l("Le UserID compte de 3 à 64 caractères : lettres, chiffres, point, tiret ou tiret bas.")


class AlreadyConfirmed(DomainError):
    status = 409
    message = _l("Votre adresse e-mail est déjà confirmée.")


class WrongConfirmationCode(DomainError):
    status = 422
    message = _l(
        "Ce code de sécurité est incorrect. Recopiez le code du dernier e-mail reçu, de la "
        "forme XXXX-XXXX-XXXX."
    )


class SecretImageRequired(DomainError):
    message = _l("Choisissez une image secrète.")


class ConfirmationLinkStillValid(DomainError):
    message = _l("Ce lien est encore valable : utilisez-le pour confirmer votre adresse.")


class TermsNotAccepted(DomainError):
    message = _l("Il faut accepter les conditions générales d'utilisation.")


class ConfirmationCodeExpired(DomainError):
    status = 410
    message = _l(
        "Ce code de sécurité a expiré. Demandez un nouveau lien : il vous parviendra avec un nouveau code."
    )


def current_terms_version():
    return current_app.config["TERMS_VERSION"]


def terms_renewed(user):
    """The person accepted terms that have changed since: the page says why it asks again."""
    return user.terms_version is not None and user.terms_version != current_terms_version()


def next_registration_step(user):
    """What the person still has to do before the portal opens: "details", "email",
    "terms", or None when done. (The token is confirmed before any session exists.)"""
    if user.registered_at is None:
        return "details"
    if user.email_confirmed_at is None:
        return "email"
    if user.terms_version != current_terms_version():
        return "terms"
    return None


# --- Enrolment of the Token ---------------------------------------------------------------


def start_enrolment(userid, password, secret_image, language):
    """Create the person and the Token product; the one-time code confirms it next. The
    person's language is the page's (their mails and letters are written in it)."""
    userid = (userid or "").strip()
    if not USERID_RE.match(userid):
        raise InvalidUserId()
    auth.check_password_policy(password, userid)
    if secret_image not in {image["slug"] for image in auth.secret_images()}:
        raise SecretImageRequired()
    try:
        with db.atomic():
            user = User.create(
                userid=userid, userid_key=auth.userid_key(userid), language=languages.checked(language)
            )
            product = AuthProduct.create(
                user=user,
                password_hash=auth.hash_password(password),
                totp_secret_encrypted=crypto.encrypt("totp", auth.new_totp_secret()),
                secret_image=secret_image,
            )
            audit.record("account.enrolment_started", actor=user)
    except IntegrityError:
        raise UserIdTaken() from None
    return product


def enrolling_product(product_id):
    """The Token whose enrolment was started (the session keeps its id) and not confirmed
    yet: its secret may still be shown. None once confirmed: a secret is never shown again."""
    if not product_id:
        return None
    return AuthProduct.get_or_none(AuthProduct.id == product_id, AuthProduct.enrolled_at.is_null())


def confirm_enrolment(product, code):
    """The first code proves the authenticator app holds the secret."""
    if not auth.consume_otp(product, code):
        raise auth.InvalidOTP()
    AuthProduct.update(enrolled_at=clock.now()).where(AuthProduct.id == product.id).execute()
    audit.record("account.token_enrolled", actor=product.user)


# --- Enregistrement and e-mail confirmation ------------------------------------------------


def register(user, first_name, last_name, email, matricule, street, postcode, city, country):
    """Save the Enregistrement form and send the confirmation link. While the e-mail is not
    confirmed the form may be sent again (a typo in the address): the old link dies."""
    if user.email_confirmed_at is not None:
        raise AlreadyConfirmed()
    matricule = validators.matricule(matricule)
    with db.atomic():
        User.update(
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email.strip(),
            matricule=matricule,
            street=street.strip(),
            postcode=postcode.strip(),
            city=city.strip(),
            country=(country or "").strip() or "Luxembourg",
            registered_at=clock.now(),
        ).where(User.id == user.id).execute()
        user = User.get_by_id(user.id)
        send_confirmation(user)
        audit.record("account.registered", actor=user)
    return user


def confirmation_deadline(user):
    return user.confirmation_sent_at + CONFIRMATION_VALIDITY


def send_confirmation(user):
    """A new security code and link (72 h); any earlier link stops working."""
    if user.email_confirmed_at is not None:
        raise AlreadyConfirmed()
    code = crypto.random_code(12)
    now = clock.now()
    User.update(
        confirmation_code_hash=crypto.keyed_hash("email-confirm", code), confirmation_sent_at=now
    ).where(User.id == user.id).execute()
    user.confirmation_sent_at = now
    token = links.make("email-confirm", {"u": user.id, "c": code})
    queue_mail(
        user.email,
        _l("Votre demande d'enregistrement auprès d'Espace Pro"),
        "registration_confirm",
        language=languages.of(user),
        user=user,
        link=external_url("auth.confirm_email", token=token),
        code=crypto.group(code),
        deadline=confirmation_deadline(user),
    )
    audit.record("account.confirmation_sent", actor=user)


def read_confirmation(token):
    """The user a confirmation link is for, or LinkInvalid / LinkExpired / LinkUsed."""
    try:
        payload = links.read("email-confirm", token, CONFIRMATION_VALIDITY)
    except links.LinkExpired as exc:
        user = _confirmation_user(exc.payload)
        raise links.LinkExpired(payload={"user_id": user.id} if user else None) from None
    user = _confirmation_user(payload)
    if user is None:
        raise links.LinkUsed()
    return user, payload["c"]


def _confirmation_user(payload):
    """The still-unconfirmed user whose current code the payload carries."""
    if not isinstance(payload, dict):
        return None
    user = User.get_or_none(User.id == payload.get("u"))
    if user is None or user.email_confirmed_at is not None:
        return None
    if user.confirmation_code_hash != crypto.keyed_hash("email-confirm", str(payload.get("c"))):
        return None
    return user


def confirm_email(token):
    """Use the link once: confirm the address and queue the postal confirmation letter."""
    user, code = read_confirmation(token)
    return _confirm(user, code)


def confirm_email_code(user, code):
    """The security code of the mail, typed on the confirmation page by the logged-in person
    instead of following the link: the same single use and 72 hours; wrong codes are counted
    with the person's other wrong codes (access codes)."""
    user = User.get_by_id(user.id)
    if user.email_confirmed_at is not None:
        raise AlreadyConfirmed()
    attempt = throttle.reserve(auth.code_entry_key(user))
    normalized = crypto.normalize_code(code)
    if crypto.keyed_hash("email-confirm", normalized) != user.confirmation_code_hash:
        locked = throttle.fail(attempt)
        audit.record("account.confirmation_code_failed", actor=user)
        if locked:
            audit.record("code.locked", actor=user)
        raise WrongConfirmationCode()
    try:
        if clock.now() > confirmation_deadline(user):
            raise ConfirmationCodeExpired()
        confirmed = _confirm(user, normalized)
    except DomainError:  # the right code, too late or already used: no wrong try
        throttle.release(attempt)
        raise
    throttle.succeed(attempt)
    return confirmed


def _confirm(user, code):
    """Confirm the address once, whichever way the code came, and queue the letter."""
    with db.atomic():
        done = (
            User.update(email_confirmed_at=clock.now(), confirmation_code_hash=None)
            .where(
                User.id == user.id, User.confirmation_code_hash == crypto.keyed_hash("email-confirm", code)
            )
            .execute()
        )
        if not done:  # a double click, or another tab, got there first
            raise links.LinkUsed()
        letters.queue_letter(
            user.display_name,
            user.address_lines,
            _l("Confirmation de votre enregistrement auprès d'une application Internet"),
            _l(
                "Madame, Monsieur,\n\nNous vous confirmons votre enregistrement "
                "auprès d'Espace Pro sous le UserID "
                "%(userid)s, avec l'adresse e-mail %(email)s.\n\nSi vous n'êtes pas à l'origine de cet "
                "enregistrement, contactez le Helpdesk.\n\nVeuillez agréer nos salutations distinguées.",
                userid=user.userid,
                email=user.email,
            ),
            language=languages.of(user),
        )
        audit.record("account.email_confirmed", actor=user)
    return User.get_by_id(user.id)


def resend_expired_confirmation(token):
    """An expired (but genuine and unused) link may ask for a new one."""
    try:
        read_confirmation(token)
    except links.LinkExpired as exc:
        if not exc.payload:
            raise links.LinkUsed() from None
        user = User.get_by_id(exc.payload["user_id"])
        with db.atomic():
            send_confirmation(user)
        return user
    raise ConfirmationLinkStillValid()


def accept_terms(user, accepted):
    if not accepted:
        raise TermsNotAccepted()
    User.update(terms_version=current_terms_version(), terms_accepted_at=clock.now()).where(
        User.id == user.id
    ).execute()
    audit.record("account.terms_accepted", actor=user, version=current_terms_version())
