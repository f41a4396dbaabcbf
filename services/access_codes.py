"""Access codes: issued by an administration (a letter to the company) or by a holder space
for a mandate (services/mandates.py), redeemed once into a certification.

Codes are single use: redemption is one conditional UPDATE whose row count is checked, in
the transaction that inserts the certification; the one-holder-per-service rule is a partial
unique index. Wrong codes are counted per account (services.throttle) and all get the same
message, which never says whether a code exists.
"""

from datetime import timedelta

from flask_babel import format_date, lazy_gettext as _l
from peewee import IntegrityError

import clock
import validators
from models import AccessCode, Administration, Certification, Mandate, Service, db
from services import DomainError, audit, auth, catalogue, crypto, letters, throttle
from services.certifications import DEFAULT_VALIDITY, notify_space
from services.spaces import require, require_professional

CODE_LENGTH = 20
DEFAULT_ACTIVATION = timedelta(days=30)
KIND_LABELS = {"holder": _l("titulaire"), "proxy": _l("mandataire")}


class InvalidCode(DomainError):
    status = 422
    message = _l(
        "Ce code d'accès n'est pas valable pour cet espace. Vérifiez le code, sa date limite "
        "d'activation et qu'il est destiné à l'entreprise de cet espace."
    )


class AlreadyCertified(DomainError):
    status = 409

    def __init__(self, service):
        super().__init__(
            _l(
                "Cet espace est déjà certifié comme titulaire pour le service « %(service)s » : un "
                "espace n'a qu'une certification de titulaire par service.",
                service=service,
            )
        )


class OwnMandate(DomainError):
    """A mandate's code entered in the space that dispensed the mandate."""

    status = 422
    message = _l("Un espace ne peut pas obtenir le mandat qu'il a lui-même dispensé.")


class NoCompanyAddress(DomainError):
    status = 422
    message = _l(
        "Le code part par courrier postal : indiquez le nom et l'adresse enregistrés de l'entreprise."
    )


class CannotIssue(DomainError):
    """An administration's code asked for an unknown service, kind or company identifier
    (the message, given when raised, says which)."""


def _hash(code):
    return crypto.keyed_hash("access-code", crypto.normalize_code(code))


# --- Issuing ---------------------------------------------------------------------------


def new_code(**fields):
    """A new random code, kept only as its HMAC on a new AccessCode with `fields`: returns
    (AccessCode, the code as shown). The code leaves only in the return value."""
    code = crypto.random_code(CODE_LENGTH)
    return AccessCode.create(code_hash=_hash(code), **fields), crypto.group(code)


def issue_code(
    administration_code,
    service_slug,
    company_identifier,
    kind,
    activation_days=None,
    valid_days=None,
    company_name="",
    address_lines=(),
    actor=None,
):
    """An administration issues a code for a company: returns (AccessCode, code). The code
    leaves only in the return value and on the letter to the company, addressed with what
    the administration knows (`company_name`, `address_lines`, both required), never with
    what someone typed into a space: anyone can open a space claiming any identifier."""
    service = (
        Service.select(Service, Administration)
        .join(Administration)
        .where(Service.slug == service_slug, Administration.code == administration_code)
        .first()
    )
    if service is None:
        raise CannotIssue(
            _l(
                "Aucun service %(slug)s pour l'administration %(code)s.",
                slug=service_slug,
                code=administration_code,
            )
        )
    if kind not in ("holder", "proxy"):
        raise CannotIssue(_l("Le type de code est holder ou proxy."))
    try:
        _kind, identifier = validators.company_identifier(company_identifier)
    except validators.InvalidIdentifier as error:
        raise CannotIssue(str(error)) from None
    company_name = (company_name or "").strip()
    address_lines = [line.strip() for line in address_lines if line and line.strip()]
    if not company_name or not address_lines:
        raise NoCompanyAddress()
    now = clock.now()
    with db.atomic():
        access_code, code = new_code(
            kind=kind,
            service=service,
            company_identifier=identifier,
            company_name=company_name,
            issued_by_administration=service.administration,
            activation_deadline=now + timedelta(days=activation_days)
            if activation_days
            else now + DEFAULT_ACTIVATION,
            ends_at=now + timedelta(days=valid_days) if valid_days else now + DEFAULT_VALIDITY,
        )
        letters.queue_letter(
            company_name,
            address_lines,
            str(
                _l("Votre code d'accès %(kind)s : %(service)s", kind=KIND_LABELS[kind], service=service.name)
            ),
            letter_body(access_code, service.administration.name),
            code=code,
        )
        audit.record(
            "code.issued",
            actor=actor,
            kind=kind,
            service=service.slug,
            company=identifier,
            code_id=access_code.id,
        )
    return access_code, code


def letter_body(access_code, issuer):
    """The text of the letter carrying a code (the code itself is added by services/letters.py)."""
    return str(
        _l(
            "%(issuer)s vous adresse un code d'accès %(kind)s pour le service « "
            "%(service)s » et l'entreprise "
            "%(company)s (%(identifier)s).\n\nSaisissez-le dans votre espace "
            "professionnel avant le %(deadline)s "
            "(date limite d'activation). La certification sera valable jusqu'au "
            "%(ends)s.\n\nCe code ne sert qu'une "
            "fois. Ne le communiquez qu'à la personne qui doit l'utiliser.",
            issuer=issuer,
            kind=KIND_LABELS[access_code.kind],
            service=access_code.service.name,
            company=access_code.company_name or access_code.company_identifier,
            identifier=access_code.company_identifier,
            deadline=format_date(access_code.activation_deadline),
            ends=format_date(access_code.ends_at),
        )
    )


# --- Redeeming --------------------------------------------------------------------------


def redeem_holder_code(member, user, code, administration=None):
    """Mandat principal → Valider: the space becomes holder for the code's service."""
    return _redeem(member, user, code, "holder", administration)


def redeem_proxy_code(member, user, code):
    """Mandats obtenus → Ajouter un accès → Valider: the space gets access for the company."""
    return _redeem(member, user, code, "proxy")


def _refuse(attempt, user, member, reason):
    locked = throttle.fail(attempt)
    audit.record("code.failed", actor=user, space_id=member.space_id, reason=reason)
    if locked:  # this failure was the 100th in a row (later ones never get here)
        audit.record("code.locked", actor=user, space_id=member.space_id)
    raise InvalidCode()


def _redeem(member, user, code, kind, administration=None):
    require(member, "manage_certifications")
    require_professional(member)
    attempt = throttle.reserve(auth.code_entry_key(user))  # counted before the code is looked up
    try:
        certification = _use_code(attempt, member, user, code, kind, administration)
    except InvalidCode:  # a wrong code: _refuse counted it
        raise
    except DomainError:  # a right code refused for another reason is no wrong try
        throttle.release(attempt)
        raise
    throttle.succeed(attempt)
    return certification


def _use_code(attempt, member, user, code, kind, administration):
    normalized = crypto.normalize_code(code)
    if len(normalized) != CODE_LENGTH or set(normalized) - set(crypto.CODE_ALPHABET):
        _refuse(attempt, user, member, "format")
    found = (
        AccessCode.select(AccessCode, Service, Administration)
        .join(Service)
        .join(Administration)
        .where(AccessCode.code_hash == _hash(normalized), AccessCode.kind == kind)
        .first()
    )
    now = clock.now()
    if found is None or (administration is not None and found.service.administration_id != administration.id):
        _refuse(attempt, user, member, "unknown")
    if kind == "holder" and found.company_identifier != member.space.identifier:
        _refuse(attempt, user, member, "company")
    if not catalogue.is_offered(found.service):
        raise catalogue.ServiceClosed()
    try:
        with db.atomic():
            used = (
                AccessCode.update(redeemed_at=now, redeemed_in=member.space_id, redeemed_by=user.id)
                .where(
                    AccessCode.id == found.id,
                    AccessCode.redeemed_at.is_null(),
                    AccessCode.revoked_at.is_null(),
                    AccessCode.activation_deadline >= now,
                )
                .execute()
            )
            if used != 1:
                raise InvalidCode()
            # A holder space's code is a mandate's: the redeeming space becomes its mandatary.
            mandate = (
                Mandate.get_or_none(Mandate.access_code == found.id) if found.issued_by_space_id else None
            )
            if mandate is not None and found.issued_by_space_id == member.space_id:
                raise OwnMandate()
            # The company's name as the administration gave it, else as the holder space has it.
            company_name = found.company_name or (member.space.company_name if kind == "holder" else "")
            certification = Certification.create(
                space=member.space_id,
                service=found.service_id,
                kind=kind,
                company_identifier=found.company_identifier,
                company_name=company_name or found.company_identifier,
                access_code=found.id,
                ends_at=found.ends_at,
            )
            audit.record(
                f"certification.{kind}_redeemed",
                actor=user,
                space_id=member.space_id,
                service=found.service.slug,
                company=found.company_identifier,
                code_id=found.id,
            )
            if mandate is not None:
                if mandate.letter_id:
                    letters.mark_posted([mandate.letter_id])  # the code it carried is no longer needed
                notify_space(
                    found.issued_by_space_id,
                    _l("Mandat obtenu : %(service)s", service=found.service.name),
                    _l(
                        "L'espace %(space)s a utilisé le code du mandat pour %(company)s (%(service)s).",
                        space=member.space.name,
                        company=found.company_name,
                        service=found.service.name,
                    ),
                )
    except InvalidCode:
        _refuse(attempt, user, member, "used-or-expired")
    except IntegrityError:
        raise AlreadyCertified(found.service.name) from None
    return certification
