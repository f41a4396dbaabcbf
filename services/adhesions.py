"""Adhesions to the impots administration's services (seed 004): J'adhère in a Mode expert
space, and the one adhesion of a Mode simplifié space (its company, every service).

An adhesion is activated by a code posted to the company's registered address (from the
register, never typed by the person) and entered in the space within 60 days. Like access
codes, the code is single use (one conditional UPDATE that erases its HMAC), wrong codes are
counted per person (services.throttle, the access codes' counter), and all get one message.
Activating gives the space a Certification per chosen service for the company: holder in
the company's own space, proxy in an expert's; withdrawing revokes them.
"""

from datetime import timedelta

from flask import current_app
from flask_babel import format_date, lazy_gettext as _l

import clock
from models import Adhesion, Administration, Certification, Service, db
from services import DomainError, audit, auth, catalogue, crypto, letters, throttle
from services.spaces import require

CODE_LENGTH = 12
CODE_VALIDITY = timedelta(days=60)
STATUS_LABELS = {
    "pending": _l("en attente du code"),
    "active": _l("active"),
    "expired": _l("expirée"),
    "withdrawn": _l("retirée"),
}


class AdhesionNotFound(DomainError):
    status = 404
    message = _l("Cette adhésion n'existe pas dans cet espace.")


class InvalidActivationCode(DomainError):
    status = 422
    message = _l(
        "Ce code d'activation n'est pas valable. Vérifiez le code reçu par courrier : il ne sert "
        "qu'une fois, pour l'entreprise à laquelle il a été envoyé."
    )


class ActivationCodeExpired(DomainError):
    status = 410
    message = _l(
        "Le délai de 60 jours pour saisir ce code d'activation est dépassé. Demandez un nouveau "
        "code : il sera envoyé par courrier à l'adresse de l'entreprise."
    )


class AlreadyActive(DomainError):
    status = 409
    message = _l("Ces services sont déjà activés.")


class AdhesionWithdrawn(DomainError):
    status = 410
    message = _l("Cette adhésion a été retirée.")


class AlreadyResent(DomainError):
    status = 409
    message = _l("Un nouveau code a déjà été envoyé une fois pour cette adhésion. Contactez le Helpdesk.")


def _hash(code):
    return crypto.keyed_hash("adhesion-code", crypto.normalize_code(code))


def impots_administration():
    """The administration whose services are adhered to (IMPOTS_ADMINISTRATION, DGFIP)."""
    return Administration.get_or_none(Administration.code == current_app.config["IMPOTS_ADMINISTRATION"])


def offered_services():
    """Its services open to adhesion now, in a stable order."""
    return list(
        Service.select(Service, Administration)
        .join(Administration)
        .where(Administration.code == current_app.config["IMPOTS_ADMINISTRATION"], catalogue.offered())
        .order_by(Service.id)
    )


def services_of(adhesion):
    """The chosen Services, in the order of the catalogue."""
    return list(Service.select().where(Service.id.in_(adhesion.service_ids or [0])).order_by(Service.id))


# --- Opening: the code goes by post ------------------------------------------------------------


def open_adhesion(space, company, services, user, company_email="", iban="", account_holder=""):
    """Ask for `services` (Service rows) for the register's `company` in `space`: the
    adhesion, its code posted to the company's registered address, the audit entry. An
    expired adhesion for the same company is closed first. Checks of what the person chose
    are the caller's (`request_adhesion`); returns the Adhesion."""
    now = clock.now()
    code = crypto.random_code(CODE_LENGTH)
    with db.atomic():
        Adhesion.update(withdrawn_at=now, code_hash=None).where(
            Adhesion.space == space.id,
            Adhesion.company_identifier == company.identifier,
            Adhesion.withdrawn_at.is_null(),
            Adhesion.activated_at.is_null(),
            Adhesion.code_expires_at < now,
        ).execute()
        adhesion = Adhesion.create(
            space=space.id,
            company_identifier=company.identifier,
            company_name=company.name,
            service_ids=[service.id for service in services],
            company_email=company_email,
            iban=iban,
            account_holder=account_holder,
            code_hash=_hash(code),
            code_sent_at=now,
            code_expires_at=now + CODE_VALIDITY,
            requested_by=user,
        )
        adhesion.letter = _post_code(adhesion, company, services, code)
        adhesion.save()
        audit.record(
            "adhesion.requested",
            actor=user,
            space_id=space.id,
            company=company.identifier,
            services=[service.slug for service in services],
            letter_id=adhesion.letter_id,
        )
    return adhesion


def _post_code(adhesion, company, services, code):
    administration = impots_administration()
    body = str(
        _l(
            "%(administration)s vous adresse le code d'activation des services de l'espace "
            "professionnel pour l'entreprise %(company)s (SIREN %(siren)s) : %(services)s.\n\n"
            "Saisissez-le dans l'espace professionnel, sur la page « Activer mon espace » ou "
            "« Mes adhésions », avant le %(deadline)s. Passé ce délai, il faudra demander un "
            "nouveau code.\n\nCe code ne sert qu'une fois. Si vous n'êtes pas à l'origine de "
            "cette demande, ne l'utilisez pas et contactez le Helpdesk.",
            administration=administration.name,
            company=company.name,
            siren=company.identifier,
            services=", ".join(service.name for service in services),
            deadline=format_date(adhesion.code_expires_at),
        )
    )
    return letters.queue_letter(
        company.name,
        company.address_lines,
        str(_l("Code d'activation de votre espace professionnel")),
        body,
        code=crypto.group(code),
        administration=administration.id,
    )


def resend_code(member, user, adhesion_id, company):
    """Once per adhesion, while it is not active: a new code by post, the old one dies (its
    HMAC is replaced), and 60 days again. `company` is the register's (the address)."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    now = clock.now()
    code = crypto.random_code(CODE_LENGTH)
    with db.atomic():
        resent = (
            Adhesion.update(
                code_hash=_hash(code), code_sent_at=now, code_expires_at=now + CODE_VALIDITY, resent_at=now
            )
            .where(
                Adhesion.id == adhesion.id,
                Adhesion.resent_at.is_null(),
                Adhesion.activated_at.is_null(),
                Adhesion.withdrawn_at.is_null(),
            )
            .execute()
        )
        if resent != 1:
            raise _why_not(Adhesion.get_by_id(adhesion.id)) or AlreadyResent()
        adhesion = Adhesion.get_by_id(adhesion.id)
        adhesion.letter = _post_code(adhesion, company, services_of(adhesion), code)
        adhesion.save()
        audit.record(
            "adhesion.code_resent", actor=user, space_id=member.space_id, company=adhesion.company_identifier
        )
    return adhesion


def _adhesion(member, adhesion_id):
    adhesion = Adhesion.get_or_none(Adhesion.id == adhesion_id, Adhesion.space == member.space_id)
    if adhesion is None:
        raise AdhesionNotFound()
    return adhesion


def _why_not(adhesion):
    """The refusal an adhesion's state gives to a code or a resend, or None."""
    if adhesion.withdrawn_at:
        return AdhesionWithdrawn()
    if adhesion.activated_at:
        return AlreadyActive()
    return None


# --- Activating: the posted code --------------------------------------------------------------


def activate(member, user, adhesion_id, code):
    """Enter the posted code: the adhesion's services become certifications of the space
    for the company. Raises InvalidActivationCode (counted), ActivationCodeExpired,
    AlreadyActive, AdhesionWithdrawn, throttle.Throttled / Locked."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    refusal = _why_not(adhesion)
    if refusal:
        raise refusal
    now = clock.now()
    if adhesion.code_expires_at < now:
        raise ActivationCodeExpired()
    attempt = throttle.reserve(auth.code_entry_key(user))  # counted before the code is compared
    normalized = crypto.normalize_code(code)
    with db.atomic():
        used = (
            Adhesion.update(activated_at=now, activated_by=user.id, code_hash=None)
            .where(
                Adhesion.id == adhesion.id,
                Adhesion.code_hash == _hash(normalized),
                Adhesion.activated_at.is_null(),
                Adhesion.withdrawn_at.is_null(),
                Adhesion.code_expires_at >= now,
            )
            .execute()
        )
        if used == 1:
            _certify(member.space, adhesion, now)
            audit.record(
                "adhesion.activated",
                actor=user,
                space_id=member.space_id,
                company=adhesion.company_identifier,
            )
    if used != 1:
        locked = throttle.fail(attempt)
        audit.record("adhesion.code_failed", actor=user, space_id=member.space_id, adhesion_id=adhesion.id)
        if locked:
            audit.record("code.locked", actor=user, space_id=member.space_id)
        raise InvalidActivationCode()
    throttle.succeed(attempt)
    return Adhesion.get_by_id(adhesion.id)


def _certify(space, adhesion, now):
    kind = "holder" if space.identifier == adhesion.company_identifier else "proxy"
    held = set()
    if kind == "holder":  # one holder certification per service per space (partial unique index)
        held = {
            row.service_id
            for row in Certification.select(Certification.service).where(
                Certification.space == space.id,
                Certification.kind == "holder",
                Certification.revoked_at.is_null(),
            )
        }
    rows = [
        {
            "space": space.id,
            "service": service_id,
            "kind": kind,
            "company_identifier": adhesion.company_identifier,
            "company_name": adhesion.company_name,
            "adhesion": adhesion.id,
            "granted_at": now,
        }
        for service_id in adhesion.service_ids
        if service_id not in held
    ]
    if rows:
        Certification.insert_many(rows).execute()


# --- Withdrawing ------------------------------------------------------------------------------


def withdraw(member, user, adhesion_id):
    """End an adhesion: its code dies, the certifications it gave are revoked."""
    require(member, "manage_certifications")
    adhesion = _adhesion(member, adhesion_id)
    now = clock.now()
    with db.atomic():
        done = (
            Adhesion.update(withdrawn_at=now, withdrawn_by=user.id, code_hash=None)
            .where(Adhesion.id == adhesion.id, Adhesion.withdrawn_at.is_null())
            .execute()
        )
        if done != 1:
            raise AdhesionWithdrawn()
        Certification.update(revoked_at=now).where(
            Certification.adhesion == adhesion.id, Certification.revoked_at.is_null()
        ).execute()
        audit.record(
            "adhesion.withdrawn", actor=user, space_id=member.space_id, company=adhesion.company_identifier
        )
