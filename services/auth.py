"""Logging in with the Token product: UserID → secret image + password → one-time code.

Answers never tell whether a UserID exists: an unknown UserID gets a stable made-up secret
image, a password check against a dummy hash, and the same message as a wrong password.

The agents of the back-office log in under the same rules (services/agents.py): the
password, one-time code, throttling and session functions take whose login it is
(`PEOPLE` by default, or `agents.AGENTS`).
"""

import gzip
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Callable

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from peewee import JOIN

import clock
from database import Parameter, Prepared
from models import AuthProduct, User, UserSession, db
from services import DomainError, audit, crypto, throttle

DATA = Path(__file__).resolve().parent.parent / "data"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # how stale last_seen_at may get before it is written
LOGIN_STEP_TIMEOUT = timedelta(minutes=5)  # from the accepted password to its one-time code
OTP_STEP = 30
OTP_DRIFT_STEPS = 1


class InvalidCredentials(DomainError):
    status = 401
    message = _l("UserID ou mot de passe incorrect.")


class InvalidOTP(DomainError):
    status = 401
    message = _l(
        "Le code à 6 chiffres est incorrect ou a déjà été utilisé. Attendez le code suivant et réessayez."
    )


class WeakPassword(DomainError):
    status = 422


class PasswordTooShort(WeakPassword):
    message = _l("Le mot de passe doit compter au moins 12 caractères.")


class PasswordTooLong(WeakPassword):
    message = _l("Le mot de passe ne peut pas dépasser 128 caractères.")


class CommonPassword(WeakPassword):
    message = _l("Ce mot de passe est trop courant : choisissez-en un autre, une phrase par exemple.")


# --- Authentication products registry ---------------------------------------------------


@dataclass(frozen=True)
class Product:
    kind: str
    name: str
    description: str
    endpoint: str  # where its login starts


PRODUCTS = {
    "token": Product(
        "token",
        "Token",
        _l("UserID et mot de passe, puis le code à 6 chiffres de votre application d'authentification."),
        "auth.login_userid",
    ),
    "impots": Product(
        "impots",
        _l("Espace professionnel impots"),
        _l("Adresse électronique et mot de passe de votre espace professionnel impots (SIREN)."),
        "impots.login",
    ),
}


# --- Who logs in: people, agents ------------------------------------------------------------


@dataclass(frozen=True)
class Accounts:
    """A kind of account that logs in with a password and a one-time code. Each kind has its
    own throttle keys ("login:<name>:<userid>"; the client address's key is shared), audit
    actions ("<audit>.success", "<audit>.password_failure"…) and session table."""

    name: str
    audit: str
    sessions: type  # a models.LoginSession
    credential: Callable  # userid key → the row with password_hash, totp_secret_encrypted, last_otp_step
    credential_of: Callable  # the account → that row
    owner: Callable  # that row → the account (User, Agent)
    related: tuple = ()  # models joined to the account when its session loads


def _product_of(kind):
    """The credential lookup of a kind of person's product, by UserID key."""

    def credential(key):
        return (
            AuthProduct.select(AuthProduct, User)
            .join(User)
            .where(User.userid_key == key, AuthProduct.kind == kind)
            .first()
        )

    return credential


PEOPLE = Accounts(
    "user",
    "login",
    UserSession,
    credential=_product_of("token"),
    credential_of=lambda user: token_product(user),
    owner=lambda product: product.user,
)
# The "Espace professionnel impots" product (services/impots_accounts.py): the UserID is the
# e-mail, and the password is the whole login. Its own counters and audit actions.
IMPOTS = Accounts(
    "impots",
    "impots_login",
    UserSession,
    credential=_product_of("impots"),
    credential_of=lambda user: AuthProduct.get_or_none(
        AuthProduct.user == user, AuthProduct.kind == "impots"
    ),
    owner=lambda product: product.user,
)


def product_of(user, kind=None):
    """The person's authentication product (a person has one: a Token, or an impots
    product), whose professional-space limit counts the spaces they create."""
    query = AuthProduct.select().where(AuthProduct.user == user)
    if kind:
        query = query.where(AuthProduct.kind == kind)
    return query.order_by(AuthProduct.id).first()


def accounts_of(user):
    """How the person logs in (PEOPLE or IMPOTS), for what checks their password again."""
    product = product_of(user)
    return IMPOTS if product is not None and product.kind == "impots" else PEOPLE


# --- Passwords --------------------------------------------------------------------------


def _hasher():
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg.get("ARGON2_TIME_COST", 3),
        memory_cost=cfg.get("ARGON2_MEMORY_COST", 65536),
        parallelism=cfg.get("ARGON2_PARALLELISM", 4),
    )


@lru_cache(maxsize=1)
def common_passwords():
    with gzip.open(DATA / "common-passwords.txt.gz", "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def check_password_policy(password, userid=None):
    """12–128 characters, not a common password, not the UserID; no composition rules."""
    if len(password) < 12:
        raise PasswordTooShort()
    if len(password) > 128:
        raise PasswordTooLong()
    if password.lower() in common_passwords() or (userid and password.lower() == userid.lower()):
        raise CommonPassword()


def hash_password(password):
    return _hasher().hash(password)


def verify_password(password_hash, password):
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=4)
def _dummy_hash(params):
    return _hasher().hash(secrets.token_hex(16))


def _spend_password_time(password):
    """Same work as a real check, for UserIDs that do not exist."""
    cfg = current_app.config
    verify_password(_dummy_hash((cfg.get("ARGON2_TIME_COST"), cfg.get("ARGON2_MEMORY_COST"))), password)


# --- Secret images ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def secret_images():
    return json.loads((DATA / "secret_images.json").read_text(encoding="utf-8"))


def secret_image_for(userid):
    """The person's secret image, or a made-up one that is stable for an unknown UserID."""
    key = userid_key(userid)
    product = (
        AuthProduct.select(AuthProduct.secret_image)
        .join(User)
        .where(User.userid_key == key, AuthProduct.kind == "token")
        .first()
    )
    if product:
        return product.secret_image
    images = secret_images()
    return images[int(crypto.keyed_hash("secret-image", key)[:8], 16) % len(images)]["slug"]


# --- One-time codes (TOTP, RFC 6238) ----------------------------------------------------


def new_totp_secret():
    return pyotp.random_base32(32)


def totp_secret(product):
    return crypto.decrypt("totp", product.totp_secret_encrypted)


def provisioning_uri(secret, userid):
    return pyotp.TOTP(secret).provisioning_uri(name=userid, issuer_name="Espace Pro")


def matching_step(secret, code):
    """The time step (±1 around now) whose code is `code`, or None."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=OTP_STEP)
    now_step = clock.timestamp() // OTP_STEP
    for step in range(now_step - OTP_DRIFT_STEPS, now_step + OTP_DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def consume_otp(product, code, accounts=PEOPLE):
    """True when `code` is current and was never accepted before (one conditional UPDATE of
    the product's, or the agent's, `last_otp_step`)."""
    step = matching_step(totp_secret(product), code)
    if step is None:
        return False
    model = type(product)
    used = (
        model.update(last_otp_step=step)
        .where(model.id == product.id, model.last_otp_step.is_null() | (model.last_otp_step < step))
        .execute()
    )
    if not used:
        audit.record(f"{accounts.audit}.otp_replay", actor=accounts.owner(product))
    return bool(used)


# --- Login ------------------------------------------------------------------------------


def userid_key(userid):
    return (userid or "").strip().lower()


def login_key(userid, accounts=PEOPLE):
    """The counter of an account's wrong passwords and codes."""
    return f"login:{accounts.name}:{userid_key(userid)}"


def _keys(userid, ip, accounts=PEOPLE):
    return login_key(userid, accounts), f"login:ip:{ip or 'unknown'}"


def token_product(user):
    return product_of(user, "token")


def check_password(userid, password, ip, accounts=PEOPLE, failure=None, last_step=False):
    """Step 2: the password for `userid`. Returns the User (the Agent); raises
    InvalidCredentials, throttle.Throttled or throttle.Locked, with the same answers for
    unknown UserIDs. `failure`: the audit action of a wrong password, when not the login's
    (Mon compte checks it too). `last_step`: no one-time code follows (services/impots_accounts.py)."""
    attempt = throttle.reserve(*_keys(userid, ip, accounts))
    product = accounts.credential(userid_key(userid))
    if product is None:
        _spend_password_time(password)
    if product is None or not verify_password(product.password_hash, password):
        failure = failure or f"{accounts.audit}.password_failure"
        _failed(attempt, accounts, failure, accounts.owner(product) if product else None, userid)
        raise InvalidCredentials()
    if last_step:
        throttle.succeed(attempt)
    else:
        throttle.release(attempt)  # the login is not done before the one-time code
    return accounts.owner(product)


def check_otp(user, code, ip, accounts=PEOPLE):
    """Step 3: the one-time code of `user` (an Agent for AGENTS). Returns the product;
    raises InvalidOTP or throttling."""
    attempt = throttle.reserve(*_keys(user.userid, ip, accounts))
    product = accounts.credential_of(user)
    if product is None or not consume_otp(product, code, accounts):
        _failed(attempt, accounts, f"{accounts.audit}.otp_failure", user, user.userid)
        raise InvalidOTP()
    throttle.succeed(attempt)  # the account's counter only, not the address's
    return product


def password_accepted(account):
    """What a login keeps between the accepted password and the one-time code: whose
    password, and when. Nothing secret, so it may wait in the session cookie."""
    return {"id": account.id, "at": clock.timestamp()}


def pending_login(step, accounts=PEOPLE):
    """The account (User, Agent) whose password `step` (from `password_accepted`) records,
    while its one-time code may still follow; None when there is none or it came too late:
    the login starts again from the password."""
    step = step or {}
    if not step.get("id") or clock.timestamp() - step.get("at", 0) > LOGIN_STEP_TIMEOUT.total_seconds():
        return None
    owner = _owner_model(accounts)
    query = owner.select(owner, *accounts.related)
    for model in accounts.related:
        query = query.join(model, JOIN.LEFT_OUTER)  # a helpdesk agent has no administration
    return query.where(owner.id == step["id"]).first()


def _failed(attempt, accounts, action, user, userid):
    locked = throttle.fail(attempt)
    audit.record(action, actor=user, userid=userid_key(userid)[:64])
    if locked:
        audit.record(f"{accounts.audit}.locked", actor=user, userid=userid_key(userid)[:64])


def unlock(userid):
    """Helpdesk: lift everything that keeps an account out: the wait and the lock of its
    login and of its access-code entry, and the waits of the addresses it failed from."""
    keys = [login_key(userid), login_key(userid, IMPOTS)]
    user = User.get_or_none(User.userid_key == userid_key(userid))
    if user is not None:
        keys.append(code_entry_key(user))
    return throttle.unlock(*keys)


def code_entry_key(user):
    """The counter of wrong access codes entered by a person (services/access_codes.py)."""
    return f"code:user:{user.id}"


# --- Sessions ---------------------------------------------------------------------------


def open_session(user, ip, accounts=PEOPLE):
    """A new login: a fresh random token for the cookie, its hash in the database."""
    token = secrets.token_urlsafe(32)
    sessions = accounts.sessions
    sessions.create(**{sessions.OWNER: user}, token_hash=crypto.keyed_hash("session", token), ip=ip)
    audit.record(f"{accounts.audit}.success", actor=user, ip=ip)
    return token


def _owner_model(accounts):
    """The model of the accounts' owners (User, Agent): what their sessions point at."""
    return getattr(accounts.sessions, accounts.sessions.OWNER).rel_model


@cache
def _live_session(accounts):
    """The session with its owner (and `accounts.related`), live at a moment: one query."""
    sessions = accounts.sessions
    owner = _owner_model(accounts)
    query = sessions.select(sessions, owner, *accounts.related).join(owner)
    for model in accounts.related:
        query = query.join(model, JOIN.LEFT_OUTER)  # a helpdesk agent has no administration
    query = query.where(
        sessions.token_hash == Parameter("token_hash"),
        sessions.revoked_at.is_null(),
        sessions.created_at > Parameter("created_after"),
        sessions.last_seen_at > Parameter("seen_after"),
    )
    return Prepared(query.limit(1))


def load_session(token, accounts=PEOPLE):
    """The User (Agent) of a live session (with `.session_token`), or None when it is
    unknown, revoked, idle for 30 minutes or older than 12 hours."""
    if not token:
        return None
    now = clock.now()
    sessions = accounts.sessions
    row = _live_session(accounts).first(
        token_hash=crypto.keyed_hash("session", token),
        created_after=now - ABSOLUTE_TIMEOUT,
        seen_after=now - IDLE_TIMEOUT,
    )
    if row is None:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        sessions.update(last_seen_at=now).where(sessions.id == row.id).execute()
    user = getattr(row, sessions.OWNER)
    user.session_token = token
    return user


def revoke_session(token, accounts=PEOPLE):
    sessions = accounts.sessions
    sessions.update(revoked_at=clock.now()).where(
        sessions.token_hash == crypto.keyed_hash("session", token), sessions.revoked_at.is_null()
    ).execute()


def revoke_sessions(user, keep_token=None):
    """End every session of `user` but the one with `keep_token`."""
    query = UserSession.update(revoked_at=clock.now()).where(
        UserSession.user == user, UserSession.revoked_at.is_null()
    )
    if keep_token:
        query = query.where(UserSession.token_hash != crypto.keyed_hash("session", keep_token))
    return query.execute()


def change_password(user, current_password, new_password, keep_token, ip):
    """Mon compte: the current password is checked as at login (throttled, audited)."""
    accounts = accounts_of(user)
    check_password(user.userid, current_password, ip, accounts, failure="account.password_change_failure")
    check_password_policy(new_password, user.userid)
    product = accounts.credential_of(user)
    with db.atomic():
        AuthProduct.update(password_hash=hash_password(new_password)).where(
            AuthProduct.id == product.id
        ).execute()
        revoke_sessions(user, keep_token=keep_token)
        audit.record("account.password_changed", actor=user)
