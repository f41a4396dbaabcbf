"""The "Espace professionnel impots" authentication product (seed 004): an account is a
person whose UserID is their e-mail (a Token's UserID never holds an "@", so the two never
meet) with an AuthProduct of kind "impots" holding the password. Logging in takes the
e-mail and the password, throttled like the Token's.

Accounts are made by "Créer mon espace professionnel" in one of two modes
(services/impots_signup.py): a signup (models.ImpotsSignup)
waits for its link or code, then `complete_signup` turns it into the account, once.
"""

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from models import AuthProduct, ImpotsSignup, User, db
from services import DomainError, InvalidInput, accounts, audit, auth, crypto, languages

KIND = "impots"


class InvalidCredentials(DomainError):
    status = 401
    message = _l("Adresse électronique ou mot de passe incorrect.")


class InvalidEmail(InvalidInput):
    field = "email"
    message = _l("Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr.")


class SignupGone(DomainError):
    """A link or code that was used, replaced or never existed."""

    status = 410
    message = _l(
        "Ce lien ou ce code n'est plus valable : il a déjà servi, ou une demande plus récente "
        "l'a remplacé. Recommencez la création de votre espace."
    )


class SignupExpired(DomainError):
    status = 410
    message = _l(
        "Le délai pour utiliser ce lien ou ce code est dépassé. Recommencez la création de votre espace."
    )


class EmailTaken(DomainError):
    """Only at the very end of a signup, to the holder of its link or code (never to
    someone merely typing an e-mail)."""

    status = 409
    message = _l("Un compte existe déjà avec cette adresse électronique : connectez-vous avec elle.")


IMPOTS = auth.IMPOTS


def email_key(email):
    return (email or "").strip().lower()


def check_email(email):
    """The e-mail normalised, or InvalidEmail."""
    try:
        return validators.email_address(email)
    except ValueError:
        raise InvalidEmail() from None


def impots_product(user):
    return IMPOTS.credential_of(user)


def account_exists(email):
    return IMPOTS.credential(email_key(email)) is not None


def login(email, password, ip):
    """E-mail and password: the User, or InvalidCredentials (the same for an unknown
    e-mail), throttle.Throttled, throttle.Locked."""
    try:
        return auth.check_password(email, password, ip, accounts=IMPOTS, last_step=True)
    except auth.InvalidCredentials:
        raise InvalidCredentials() from None


# --- Signups ----------------------------------------------------------------------------------


def signup_hash(secret):
    """A link's nonce or a typed code (normalised: dashes, spaces and case do not matter)."""
    return crypto.keyed_hash("impots-signup", crypto.normalize_code(secret))


def start_signup(
    mode, email, password, secret, expires_at, first_name="", last_name="", company_identifier=""
):
    """A signup waiting for `secret` (a link's nonce, or a code) until `expires_at`; a
    pending signup with the same e-mail is replaced (its link or code dies). The password is
    checked against the policy and kept only hashed."""
    email = check_email(email)
    auth.check_password_policy(password, email)
    with db.atomic():
        ImpotsSignup.delete().where(
            ImpotsSignup.email_key == email_key(email), ImpotsSignup.completed_at.is_null()
        ).execute()
        return ImpotsSignup.create(
            mode=mode,
            email=email,
            email_key=email_key(email),
            first_name=first_name,
            last_name=last_name,
            password_hash=auth.hash_password(password),
            company_identifier=company_identifier,
            secret_hash=signup_hash(secret),
            expires_at=expires_at,
        )


def pending_signup(mode, secret, email=None):
    """The signup `secret` opens (and `email` names, for a code), or SignupGone /
    SignupExpired. Does not use it: `complete_signup` does."""
    query = ImpotsSignup.select().where(
        ImpotsSignup.mode == mode, ImpotsSignup.secret_hash == signup_hash(secret)
    )
    if email is not None:
        query = query.where(ImpotsSignup.email_key == email_key(email))
    signup = query.first()
    if signup is None or signup.completed_at is not None:
        raise SignupGone()
    if signup.expires_at < clock.now():
        raise SignupExpired()
    return signup


def complete_signup(signup, language):
    """Use the signup (one conditional UPDATE: a second click or a concurrent one finds it
    used) and create its account, in `language` (the page's): returns (User, AuthProduct).
    Call it inside the
    transaction that makes the space, so that a failure leaves the signup unused."""
    now = clock.now()
    used = (
        ImpotsSignup.update(completed_at=now)
        .where(
            ImpotsSignup.id == signup.id, ImpotsSignup.completed_at.is_null(), ImpotsSignup.expires_at >= now
        )
        .execute()
    )
    if used != 1:
        raise SignupGone()
    terms = accounts.current_terms_version()
    try:
        with db.atomic():
            user = User.create(
                userid=signup.email,
                userid_key=signup.email_key,
                email=signup.email,
                first_name=signup.first_name,
                last_name=signup.last_name,
                registered_at=now,
                # Mode expert: the code came to this address. Mode simplifié: the link came to
                # the company's, which vouches for the person (seed 004).
                email_confirmed_at=now,
                terms_version=terms,
                terms_accepted_at=now,
                space_terms_version=terms,
                language=languages.checked(language),
            )
            product = AuthProduct.create(
                user=user,
                kind=KIND,
                password_hash=signup.password_hash,
                totp_secret_encrypted="",
                secret_image="",
                enrolled_at=now,
            )
    except IntegrityError:
        raise EmailTaken() from None
    audit.record("impots.account_created", actor=user, mode=signup.mode)
    return user, product
