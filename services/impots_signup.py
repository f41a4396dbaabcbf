"""Créer mon espace professionnel (seed 004), from the form to the space.

Mode simplifié (one company): the SIREN must be in the register, which must know the
company's e-mail; a link valid 72 h goes to that address (never one the person types), and
following it creates the account, the company's space and the adhesion whose activation
code goes by post to the registered address (services/adhesions.py).

Mode expert (several companies): a code valid 48 h goes to the person's own e-mail; typed
with that e-mail on "Activer mon espace/mes services", it creates the account and a space
with a numéro d'abonné and no company of its own (its companies come by J'adhère).

Whether an e-mail has an account is never said by a page: when it has one, no link or code
is sent, the person's address gets a mail saying so, and the page is the same as for a new
one. Sending is throttled per client address, per company and per e-mail (whatever the
e-mail, so that the limits say nothing either). Wrong activation codes are counted like
access codes.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
from models import ImpotsSignup, Space, clip, db
from services import (
    DomainError,
    InvalidInput,
    adhesions,
    audit,
    auth,
    companies,
    crypto,
    languages,
    spaces,
    throttle,
)
from services.impots_accounts import (
    InvalidEmail,
    SignupGone,
    account_exists,
    check_email,
    complete_signup,
    email_key,
    pending_signup,
    signup_hash,
    start_signup,
)
from services.mail import queue_mail
from services.urls import external_url

LINK_VALIDITY = timedelta(hours=72)
CODE_VALIDITY = timedelta(hours=48)
LINK_LENGTH = 32  # symbols of crypto.CODE_ALPHABET in a Mode simplifié link (about 158 bits)
CODE_LENGTH = 8  # the Mode expert's code, typed from the mail
SUBSCRIBER_DIGITS = 10

# Sending links and codes: per client address 10 an hour; per company 3 a day (its mailbox
# must not be flooded); per person's e-mail 3 an hour.
ADDRESS_LIMIT, ADDRESS_WINDOW = 10, timedelta(hours=1)
COMPANY_LIMIT, COMPANY_WINDOW = 3, timedelta(days=1)
EMAIL_LIMIT, EMAIL_WINDOW = 3, timedelta(hours=1)

# A UserID holds 64 characters (models.User): the login e-mail of an impots account too.
EMAIL_MAX_LENGTH = 64


class CompanyEmailUnknown(InvalidInput):
    """The register knows no e-mail for the company: the link has nowhere to go."""

    field = "siren"
    message = _l(
        "Le registre des entreprises ne connaît pas l'adresse électronique de cette entreprise : le "
        "lien de création ne peut pas lui être envoyé. Utilisez le Mode expert, ou contactez le "
        "Helpdesk pour faire compléter le registre."
    )


class EmailTooLong(InvalidEmail):
    message = _l("Une adresse électronique de connexion compte au plus 64 caractères.")


class TermsNotAccepted(InvalidInput):
    field = "accept"
    message = _l("Il faut accepter les conditions générales d'utilisation.")


class InvalidSignupCode(InvalidInput):
    """Wrong code, or a code sent to another e-mail: one message, counted."""

    field = "code"
    message = _l(
        "Ce code d'activation ne correspond pas à cette adresse électronique. Vérifiez le code reçu "
        "par courriel et l'adresse à laquelle il a été envoyé."
    )


class Sent(NamedTuple):
    """What the page after a signup says: where the link or code went and until when."""

    mode: str
    to: str  # the company's e-mail masked (Mode simplifié), the person's own (Mode expert)
    deadline: object  # datetime


def mask_email(email):
    """c•••@exemple.fr: enough for the person to recognise the company's address."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def _login_email(email):
    email = check_email(email)
    if len(email) > EMAIL_MAX_LENGTH:
        raise EmailTooLong()
    return email


def _checked_person(email, password, accepted):
    """The login e-mail normalised, once it, the password and the terms pass."""
    email = _login_email(email)
    auth.check_password_policy(password, email)
    if not accepted:
        raise TermsNotAccepted()
    return email


def _digest(text):
    # A counter's key holds 200 characters: an e-mail's digest stands for it.
    return hashlib.sha256(text.lower().encode()).hexdigest()


def _count_sending(ip, email, company=None):
    throttle.count_use(f"impots-signup:ip:{ip or 'unknown'}", ADDRESS_LIMIT, ADDRESS_WINDOW)
    throttle.count_use(f"impots-signup:email:{_digest(email)}", EMAIL_LIMIT, EMAIL_WINDOW)
    if company is not None:
        throttle.count_use(f"impots-signup:company:{company.identifier}", COMPANY_LIMIT, COMPANY_WINDOW)


def _tell_account_exists(email, mode, language):
    """Instead of a link or code: a mail to the address that has the account (in its
    language). The hash spends the time a new signup's password hash takes, so the answer's
    delay says nothing."""
    auth.hash_password(secrets.token_hex(8))
    queue_mail(
        email,
        _l("Votre espace professionnel impots existe déjà"),
        "impots_account_exists",
        language=languages.for_email(email, language),
        email=email,
        login_link=external_url("impots.login"),
    )
    audit.record("impots.signup_account_exists", mode=mode)


def _sign_up(mode, email, password, first_name, last_name, language, ip, company=None):
    """The checked request of either mode, in one transaction: counted, then the signup and
    its mail (the link to the company, the code to the person) in `language`, the page's, or
    the mail to an existing account. Returns the deadline the page shows, the same in both
    cases."""
    first_name, last_name = first_name.strip(), last_name.strip()
    simplified = mode == "simplified"
    deadline = clock.now() + (LINK_VALIDITY if simplified else CODE_VALIDITY)
    with db.atomic():
        _count_sending(ip, email, company)
        if account_exists(email):
            _tell_account_exists(email, mode, language)
            return deadline
        secret = crypto.random_code(LINK_LENGTH if simplified else CODE_LENGTH)
        start_signup(
            mode,
            email,
            password,
            secret,
            deadline,
            first_name=first_name,
            last_name=last_name,
            company_identifier=company.identifier if simplified else "",
        )
        if simplified:
            queue_mail(
                company.email,
                _l("Création de l'espace professionnel de l'entreprise %(company)s", company=company.name),
                "impots_simplified_link",
                language=language,
                company=company,
                person=f"{first_name} {last_name}",
                email=email,
                link=external_url("impots.simplified_link", secret=secret),
                deadline=deadline,
            )
            audit.record("impots.signup_link_sent", ip=ip, company=company.identifier)
        else:
            queue_mail(
                email,
                _l("Votre code d'activation d'espace professionnel impots"),
                "impots_expert_code",
                language=language,
                code=crypto.group(secret),
                email=email,
                activate_link=external_url("impots.activate"),
                deadline=deadline,
            )
            audit.record("impots.signup_code_sent", ip=ip)
    return deadline


# --- Mode simplifié -------------------------------------------------------------------------


def request_simplified(siren, first_name, last_name, email, password, accepted, language, ip=None):
    """Send the 72 h link to the company's e-mail from the register. Raises InvalidSiren,
    UnknownCompany, CompanyEmailUnknown, InvalidEmail, a WeakPassword, TermsNotAccepted,
    throttle.TooManySent; nothing is sent then. Returns Sent."""
    company = companies.by_siren(siren)
    if not company.email:
        raise CompanyEmailUnknown()
    email = _checked_person(email, password, accepted)
    deadline = _sign_up("simplified", email, password, first_name, last_name, language, ip, company)
    return Sent("simplified", mask_email(company.email), deadline)


def simplified_signup(secret):
    """(signup, company) for a link still to follow; SignupGone (used, replaced, forged)
    or SignupExpired. Changes nothing: mail scanners follow links."""
    signup = pending_signup("simplified", secret)
    company = companies.find(signup.company_identifier)
    if company is None:  # removed from the register since: nothing to create
        raise SignupGone()
    return signup, company


def create_simplified_space(secret, language):
    """Follow the link once: in one transaction, the account (in `language`, the page's),
    the company's space with the person as its administrator, and the adhesion to every
    offered service, whose code goes by post to the registered address. Returns (space,
    adhesion)."""
    signup, company = simplified_signup(secret)
    with db.atomic():
        user, product = complete_signup(signup, language)
        space = _welcome(
            signup, user, product, name=clip(Space.name, company.name), **companies.space_fields(company)
        )
        adhesion = adhesions.open_adhesion(space, company, adhesions.offered_services(), user)
    return space, adhesion


def _welcome(signup, user, product, **fields):
    """The signup's space, its person its administrator; the signup keeps which it made."""
    space = spaces.open_professional_space(user, product, details={"mode": signup.mode}, **fields)
    ImpotsSignup.update(space=space).where(ImpotsSignup.id == signup.id).execute()
    return space


# --- Mode expert ------------------------------------------------------------------------------


def request_expert(email, password, first_name, last_name, accepted, language, ip=None):
    """Send the 48 h activation code to the person's e-mail. Raises InvalidEmail, a
    WeakPassword, TermsNotAccepted, throttle.TooManySent. Returns Sent."""
    email = _checked_person(email, password, accepted)
    deadline = _sign_up("expert", email, password, first_name, last_name, language, ip)
    return Sent("expert", email, deadline)


def activation_key(email):
    """The counter of wrong activation codes typed for an e-mail."""
    return f"impots-activation:{_digest(email_key(email))}"


def activate_expert(email, code, language, ip=None):
    """Activer mon espace/mes services: the e-mail and its code (single use, 48 h) create
    the account and the space with its numéro d'abonné. Raises InvalidEmail,
    InvalidSignupCode (counted), SignupGone / SignupExpired (the right code: not counted),
    EmailTaken, throttle.Throttled / Locked. Returns the space."""
    email = _login_email(email)
    attempt = throttle.reserve(activation_key(email), f"login:ip:{ip or 'unknown'}")
    known = (
        ImpotsSignup.select(ImpotsSignup.id)
        .where(
            ImpotsSignup.mode == "expert",
            ImpotsSignup.secret_hash == signup_hash(code),
            ImpotsSignup.email_key == email_key(email),
        )
        .exists()
    )
    if not known:
        locked = throttle.fail(attempt)
        audit.record("impots.activation_failed", ip=ip)
        if locked:
            audit.record("impots.activation_locked", ip=ip)
        raise InvalidSignupCode()
    try:
        space = _create_expert_space(pending_signup("expert", code, email), language)
    except DomainError:
        throttle.release(attempt)
        raise
    throttle.succeed(attempt)
    return space


def _create_expert_space(signup, language):
    with db.atomic():
        user, product = complete_signup(signup, language)
        name = clip(Space.name, str(_l("Espace abonné %(name)s", name=user.display_name)))
        # A random numéro d'abonné, drawn again on the rare collision.
        for _attempt in range(10):
            number = str(secrets.randbelow(9 * 10 ** (SUBSCRIBER_DIGITS - 1)) + 10 ** (SUBSCRIBER_DIGITS - 1))
            try:
                with db.atomic():
                    return _welcome(signup, user, product, name=name, subscriber_number=number)
            except IntegrityError:
                continue
        raise RuntimeError("no free subscriber number")  # rolls the account back too
