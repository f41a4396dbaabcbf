"""Mandates: a holder space (the mandant) dispenses a proxy code for one of its services; the
space that redeems it (services/access_codes.py) is the mandatary. Either side revokes it at
any time, and both are reminded before it ends.

A Mandate extends its proxy AccessCode with its own facts (the letter carrying the code, the
note, who granted and who revoked it, the reminders sent); the rest is the code's, and
queries select the code with the mandate.
"""

from datetime import datetime, time, timedelta

from flask_babel import format_date, lazy_gettext as _l, to_user_timezone, to_utc
from peewee import JOIN

import clock
from database import lock_row
from models import AccessCode, Administration, Certification, Letter, Mandate, Service, Space, db
from services import DomainError, access_codes, audit, catalogue, certifications, languages, letters
from services.certifications import NotFound, holder_certification, notify_space
from services.spaces import require, require_professional

REMINDERS = {"reminded_30_at": timedelta(days=30), "reminded_7_at": timedelta(days=7)}


class InvalidMandate(DomainError):
    """A mandate that cannot be dispensed as asked."""

    status = 422


class NotHolder(InvalidMandate):
    message = _l("Seul un espace certifié comme titulaire pour ce service peut dispenser un mandat.")


class EndNotInFuture(InvalidMandate):
    message = _l("Choisissez une date de fin dans le futur.")


class EndAfterHolder(InvalidMandate):
    def __init__(self, holder_ends_at):
        super().__init__(
            _l(
                "La date de fin du mandat ne peut pas dépasser celle de votre certification (%(date)s).",
                date=format_date(holder_ends_at),
            )
        )


class AlreadyRevoked(DomainError):
    status = 422
    message = _l("Ce mandat est déjà révoqué.")


def _mandates():
    """Mandates with their code and its service: what a mandate reads through its code."""
    return Mandate.select(Mandate, AccessCode, Service).join(AccessCode).join(Service)


# --- Dispenser un mandat -------------------------------------------------------------------


def holder_services(member):
    """The services the space holds a live holder certification for (it may dispense mandates),
    still offered by their administration."""
    return list(
        Service.select()
        .join(Certification, on=(Certification.service == Service.id))
        .switch(Service)
        .join(Administration)
        .where(
            Certification.space == member.space_id,
            Certification.kind == "holder",
            Certification.live(clock.now()),
            catalogue.offered(),
        )
        .order_by(Service.name)
    )


def grant_mandate(member, user, service_id, ends_on, note="", activation_days=30):
    """Dispenser un mandat: returns (Mandate, code). The end date may not pass the holder's
    own; the code is shown once and carried by a printable letter until it is used."""
    require(member, "manage_mandates")
    require_professional(member)
    holder = holder_certification(member.space_id, service_id)
    if holder is None:
        raise NotHolder()
    now = clock.now()
    if ends_on is not None and not isinstance(ends_on, datetime):
        # The end of that day where the portal is (Europe/Luxembourg), stored in UTC; the
        # holder's own last day is allowed, up to the holder's own end.
        last_day = ends_on
        ends_on = to_utc(datetime.combine(ends_on, time(23, 59, 59)))
        if holder.ends_at and to_user_timezone(holder.ends_at).date() == last_day:
            ends_on = min(ends_on, holder.ends_at)
    if ends_on is None or ends_on <= now:
        raise EndNotInFuture()
    if holder.ends_at and ends_on > holder.ends_at:
        raise EndAfterHolder(holder.ends_at)
    service = (
        Service.select(Service, Administration).join(Administration).where(Service.id == service_id).get()
    )
    if not catalogue.is_offered(service):
        raise catalogue.ServiceClosed()
    with db.atomic():
        # A revocation of the holder certification at this moment waits for the grant, or
        # the grant sees it: no mandate outlives the right it is given from.
        lock_row(Certification, holder.id)
        if holder_certification(member.space_id, service_id) is None:
            raise NotHolder()
        access_code, code = access_codes.new_code(
            kind="proxy",
            service=service,
            company_identifier=holder.company_identifier,
            company_name=holder.company_name,
            issued_by_space=member.space_id,
            activation_deadline=min(now + timedelta(days=activation_days), ends_on),
            ends_at=ends_on,
        )
        letter = letters.printable_letter(
            (note or "").strip() or _l("Le mandataire"),
            _l(
                "Votre code d'accès mandataire : %(service)s",
                service=languages.lazy_localized(service, "name"),
            ),
            access_codes.letter_body(access_code, member.space.company_name or member.space.name),
            language=service.administration.letter_language,
            code=code,
        )
        mandate = Mandate.create(
            access_code=access_code, letter=letter, note=(note or "").strip()[:200], granted_by=user
        )
        audit.record(
            "mandate.granted",
            actor=user,
            space_id=member.space_id,
            mandate_id=mandate.id,
            service=service.slug,
            ends_at=ends_on.isoformat(),
        )
    return mandate, code


def mandate_letter(member, mandate_id):
    """The printable letter of a mandate not yet taken up (its code is erased after)."""
    require(member, "manage_mandates")
    mandate = (
        Mandate.select(Mandate, AccessCode, Letter)
        .join(AccessCode)
        .switch(Mandate)
        .join(Letter)
        .where(Mandate.id == mandate_id, AccessCode.issued_by_space == member.space_id)
        .first()
    )
    if mandate is None or mandate.status(clock.now()) != "pending":
        raise NotFound()
    return mandate.letter


# --- Révoquer, from either side ---------------------------------------------------------------


def mandate_of(member, mandate_id):
    """A mandate the space dispensed or obtained, for its admins (to confirm a revocation)."""
    require(member, "manage_mandates")
    mandate = (
        _mandates()
        .where(
            Mandate.id == mandate_id,
            (AccessCode.issued_by_space == member.space_id) | (AccessCode.redeemed_in == member.space_id),
        )
        .first()
    )
    if mandate is None:
        raise NotFound()
    return mandate


def revoke_mandate(member, user, mandate_id):
    """Révoquer, by the mandant or by the mandatary: access ends at once, everywhere."""
    mandate = mandate_of(member, mandate_id)
    now = clock.now()
    with db.atomic():
        if (
            not AccessCode.update(revoked_at=now)
            .where(AccessCode.id == mandate.access_code_id, AccessCode.revoked_at.is_null())
            .execute()
        ):
            raise AlreadyRevoked()
        Mandate.update(revoked_by=user).where(Mandate.id == mandate.id).execute()
        Certification.update(revoked_at=now).where(
            Certification.access_code == mandate.access_code_id, Certification.revoked_at.is_null()
        ).execute()
        if mandate.letter_id:
            letters.mark_posted([mandate.letter_id])
        side = "mandant" if mandate.mandant_space_id == member.space_id else "mandatary"
        audit.record(
            "mandate.revoked", actor=user, space_id=member.space_id, mandate_id=mandate.id, side=side
        )
        for space_id in {mandate.mandant_space_id, mandate.mandatary_space_id} - {None}:
            notify_space(
                space_id,
                _l("Mandat révoqué : %(company)s", company=mandate.company_name),
                _l(
                    "Le mandat pour %(company)s (%(identifier)s) a été révoqué.",
                    company=mandate.company_name,
                    identifier=mandate.company_identifier,
                ),
            )
    return mandate


def obtained_certification(member, certification_id):
    """A proxy certification of the space (a row of Mandats obtenus), for its admins."""
    require(member, "manage_mandates")
    certification = (
        Certification.select(Certification, Service)
        .join(Service)
        .where(
            Certification.id == certification_id,
            Certification.space == member.space_id,
            Certification.kind == "proxy",
        )
        .first()
    )
    if certification is None:
        raise NotFound()
    return certification


def mandate_of_certification(certification):
    """The mandate a certification was obtained by (through its code), or None."""
    if certification.access_code_id is None:
        return None
    return Mandate.get_or_none(Mandate.access_code == certification.access_code_id)


def revoke_obtained(member, user, certification_id):
    """Révoquer a mandate obtained, at any time, whatever gave it: a holder space's mandate is
    revoked for both sides; an administration's proxy code has no mandate, so the space's
    certification itself ends."""
    certification = obtained_certification(member, certification_id)
    mandate = mandate_of_certification(certification)
    if mandate is not None:
        revoke_mandate(member, user, mandate.id)
        return certification
    with db.atomic():
        if (
            not Certification.update(revoked_at=clock.now())
            .where(Certification.id == certification.id, Certification.revoked_at.is_null())
            .execute()
        ):
            raise AlreadyRevoked()
        audit.record(
            "certification.proxy_revoked",
            actor=user,
            space_id=member.space_id,
            certification_id=certification.id,
            service=certification.service.slug,
            company=certification.company_identifier,
        )
    return certification


# --- Listings -------------------------------------------------------------------------------


def mandates_granted(member, query="", page=1):
    """Mandats dispensés, with their mandatary space (one query per page)."""
    require_professional(member)
    Mandatary = Space.alias()
    issued = AccessCode.issued_by_space == member.space_id
    # What a line shows: the code's service, company, dates and state, the mandatary's name.
    select = (
        Mandate.select(
            Mandate.id,
            Mandate.access_code,
            Mandate.letter,
            Mandate.note,
            AccessCode.id,
            AccessCode.service,
            AccessCode.company_identifier,
            AccessCode.company_name,
            AccessCode.activation_deadline,
            AccessCode.ends_at,
            AccessCode.redeemed_at,
            AccessCode.redeemed_in,
            AccessCode.revoked_at,
            Service.id,
            Service.name,
            Service.translations,
            Mandatary.id,
            Mandatary.name,
        )
        .join(AccessCode)
        .join(Service)
        .switch(AccessCode)
        .join(Mandatary, JOIN.LEFT_OUTER, on=(AccessCode.redeemed_in == Mandatary.id), attr="redeemed_in")
        .where(issued)
    )
    return certifications.paged(
        select,
        Mandate.select().join(AccessCode).where(issued),
        query,
        (AccessCode.company_name, AccessCode.company_identifier, Mandate.note, Mandatary.name),
        (AccessCode.created_at.desc(), Mandate.id.desc()),
        page,
    )


def mandates_obtained(member, query="", page=1):
    """Proxy certifications of the space (from mandates and from administrations' codes)."""
    require_professional(member)
    return certifications.listing(
        (Certification.space == member.space_id, Certification.kind == "proxy"),
        query,
        (Certification.company_name, Certification.company_identifier),
        (Certification.granted_at.desc(), Certification.id.desc()),
        page,
    )


# --- Reminders ------------------------------------------------------------------------------


def send_reminders():
    """Mandates ending in 30 and in 7 days: one mail to both sides, once each (a
    conditional UPDATE marks them, so two runs never send twice). Returns how many."""
    now = clock.now()
    sent = 0
    for field_name, before in REMINDERS.items():
        field = getattr(Mandate, field_name)
        due = list(
            _mandates().where(
                field.is_null(),
                AccessCode.revoked_at.is_null(),
                AccessCode.redeemed_at.is_null(False),
                AccessCode.ends_at > now,
                AccessCode.ends_at <= now + before,
            )
        )
        for mandate in due:
            with db.atomic():
                if (
                    not Mandate.update({field: now})
                    .where(Mandate.id == mandate.id, field.is_null())
                    .execute()
                ):
                    continue
                for space_id in (mandate.mandant_space_id, mandate.mandatary_space_id):
                    notify_space(
                        space_id,
                        _l("Mandat bientôt expiré : %(company)s", company=mandate.company_name),
                        _l(
                            "Le mandat pour %(company)s (%(service)s) prend fin dans %(days)d jours.",
                            company=mandate.company_name,
                            service=languages.lazy_localized(mandate.service, "name"),
                            days=-((now - mandate.ends_at) // timedelta(days=1)),
                        ),
                    )
                sent += 1
    return sent


# --- How mandates and codes move in a merge (listed in services/merge.py) -----------------


def merge_count(source_id):
    return (
        Mandate.select()
        .join(AccessCode)
        .where((AccessCode.issued_by_space == source_id) | (AccessCode.redeemed_in == source_id))
        .count()
    )


def merge_move(source_id, target_id, resolutions):
    AccessCode.update(issued_by_space=target_id).where(AccessCode.issued_by_space == source_id).execute()
    AccessCode.update(redeemed_in=target_id).where(AccessCode.redeemed_in == source_id).execute()
