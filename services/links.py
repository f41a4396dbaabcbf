"""Signed, expiring links (itsdangerous), one salt per purpose so that a link made for one
thing never works for another. The age is measured on clock."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

import clock
from services import DomainError


class ClockSigner(TimestampSigner):
    def get_timestamp(self):
        return clock.timestamp()


class LinkInvalid(DomainError):
    status = 400
    message = _l("Ce lien n'est pas valide. Vérifiez que vous avez copié l'adresse complète depuis l'e-mail.")


class LinkExpired(DomainError):
    status = 410
    message = _l("Ce lien a expiré.")

    def __init__(self, payload=None):
        self.payload = payload  # what the expired link carried, when it was genuine
        super().__init__()


class LinkUsed(DomainError):
    status = 410
    message = _l("Ce lien a déjà été utilisé ou a été remplacé par un lien plus récent.")


def _serializer(purpose):
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"link:{purpose}", signer=ClockSigner
    )


def make(purpose, payload):
    return _serializer(purpose).dumps(payload)


def read(purpose, token, max_age):
    """The payload of a link younger than `max_age` (a timedelta); the age limit is inclusive.
    Raises LinkInvalid, or LinkExpired carrying the payload (to offer a new link)."""
    serializer = _serializer(purpose)
    try:
        return serializer.loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        raise LinkExpired(serializer.load_payload(exc.payload)) from exc
    except BadSignature as exc:
        raise LinkInvalid() from exc
