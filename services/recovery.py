"""Getting back in: a forgotten password (a link by e-mail, then the one-time code; an
impots account, whose login is its e-mail and password, has no code to give) and a lost
token (a link by e-mail after the password, then a new secret confirmed by a code). Links
are valid one hour and die once used: each is tied to the secret it replaces."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from peewee import fn

import clock
from models import AuthProduct, PendingTotpSecret, User, db
from services import audit, auth, crypto, languages, links
from services.mail import queue_mail
from services.urls import external_url

RECOVERY_VALIDITY = timedelta(hours=1)


# purpose: (the secret the link is tied to, mail subject, mail template, endpoint)
RECOVERIES = {
    "password-reset": (
        lambda product: product.password_hash,
        _l("Réinitialisation de votre mot de passe Espace Pro"),
        "password_reset",
        "auth.reset_password",
    ),
    "token-reset": (
        lambda product: product.totp_secret_encrypted,
        _l("Nouveau token pour votre compte Espace Pro"),
        "token_reset",
        "auth.reset_token",
    ),
}


def _fingerprint(value):
    """Changes when the secret changes, so a recovery link works once."""
    return crypto.keyed_hash("recovery", value)[:24]


def _send_recovery(purpose, user):
    secret_of, subject, template, endpoint = RECOVERIES[purpose]
    product = auth.product_of(user)
    token = links.make(purpose, {"u": user.id, "f": _fingerprint(secret_of(product))})
    with db.atomic():
        queue_mail(
            user.email,
            subject,
            template,
            language=languages.of(user),
            user=user,
            link=external_url(endpoint, token=token),
            asks_code=product.kind == "token",
        )
        audit.record(f"account.{purpose.replace('-', '_')}_requested", actor=user)


def _recovery(purpose, token):
    """(user, product) of a live recovery link whose secret has not changed since it was sent."""
    payload = links.read(purpose, token, RECOVERY_VALIDITY)
    user = User.get_or_none(User.id == payload.get("u")) if isinstance(payload, dict) else None
    product = auth.product_of(user) if user else None
    if product is None or _fingerprint(RECOVERIES[purpose][0](product)) != payload.get("f"):
        raise links.LinkUsed()
    return user, product


def _read_recovery(purpose, token):
    return _recovery(purpose, token)[0]


def _replace(product, column, changes):
    """The link's single use: the Token changes only if `column` still holds what the link
    was read with (one conditional UPDATE); two submits of one link change it once."""
    replaced = (
        AuthProduct.update(changes)
        .where(AuthProduct.id == product.id, column == getattr(product, column.name))
        .execute()
    )
    if not replaced:
        raise links.LinkUsed()


def request_password_reset(identifier):
    """Mail a reset link (1 h) to the person with this UserID or confirmed e-mail. Silent
    either way: the page never tells whether the account exists."""
    identifier = (identifier or "").strip()
    user = User.get_or_none(User.userid_key == auth.userid_key(identifier))
    if user is None and "@" in identifier:
        user = (
            User.select()
            .where(fn.LOWER(User.email) == identifier.lower(), User.email_confirmed_at.is_null(False))
            .order_by(User.id)
            .first()
        )
    if user is None or user.email_confirmed_at is None:
        audit.record("account.password_reset_unknown")
        return
    _send_recovery("password-reset", user)


def read_password_reset(token):
    return _read_recovery("password-reset", token)


def asks_code(user):
    """Whether a new password must be proven with a one-time code: a Token's, not an impots
    account's (it has none: the link to its e-mail is its proof, as its login is)."""
    return auth.product_of(user).kind == "token"


def reset_password(token, new_password, code, ip):
    """New password, proven with the one-time code (a Token's); ends every session."""
    user, product = _recovery("password-reset", token)
    auth.check_password_policy(new_password, user.userid)
    if product.kind == "token":
        auth.check_otp(user, code, ip)
    with db.atomic():
        _replace(
            product, AuthProduct.password_hash, {AuthProduct.password_hash: auth.hash_password(new_password)}
        )
        auth.revoke_sessions(user)
        audit.record("account.password_reset", actor=user)
    return user


def request_token_reset(userid, password, ip):
    """Lost authenticator: the password (throttled like a login) and then an e-mail link."""
    user = auth.check_password(userid, password, ip)
    if user.email_confirmed_at is None:
        return user
    _send_recovery("token-reset", user)
    return user


def read_token_reset(token):
    return _read_recovery("token-reset", token)


def pending_token_secret(token):
    """The user of a token-reset link and the new TOTP secret it offers: made at the first
    visit, kept encrypted in the database (never in the cookie) for the link's hour, the same
    on every reload. Returns (user, secret)."""
    user = read_token_reset(token)
    now = clock.now()
    flow_hash = _flow_hash(token)
    PendingTotpSecret.delete().where(PendingTotpSecret.created_at <= now - RECOVERY_VALIDITY).execute()
    PendingTotpSecret.insert(
        flow_hash=flow_hash,
        user=user,
        secret_encrypted=crypto.encrypt("totp", auth.new_totp_secret()),
        created_at=now,
    ).on_conflict_ignore().execute()
    pending = PendingTotpSecret.get(PendingTotpSecret.flow_hash == flow_hash)
    return user, crypto.decrypt("totp", pending.secret_encrypted)


def _flow_hash(token):
    return crypto.keyed_hash("token-reset-flow", token)


def reset_token(token, code):
    """Replace the TOTP secret with the pending one once the new app shows a valid code;
    ends every session."""
    user, new_secret = pending_token_secret(token)
    step = auth.matching_step(new_secret, code)
    if step is None:
        raise auth.InvalidOTP()
    product = _recovery("token-reset", token)[1]
    with db.atomic():
        changes = {
            AuthProduct.totp_secret_encrypted: crypto.encrypt("totp", new_secret),
            AuthProduct.last_otp_step: step,
            AuthProduct.enrolled_at: clock.now(),
        }
        _replace(product, AuthProduct.totp_secret_encrypted, changes)
        PendingTotpSecret.delete().where(PendingTotpSecret.flow_hash == _flow_hash(token)).execute()
        auth.revoke_sessions(user)
        audit.record("account.token_replaced", actor=user)
    return user
