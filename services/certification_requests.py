"""Certification by online request: a space's admin explains why (a supporting document
optional) and an agent of the service's administration approves or rejects it in the
back-office; approval makes the space holder for the service.
"""

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

import clock
from database import PAGE_SIZE, lock_row
from models import Administration, Certification, CertificationRequest, Service, Space, db
from services import DomainError, audit, catalogue, languages, sent_communications
from services.certifications import DEFAULT_VALIDITY, NotFound
from services.files import content_type as attachment_type  # PDF, PNG or JPEG by its first bytes
from services.spaces import require, require_professional

MAX_ATTACHMENT = 5 * 1024 * 1024


class RequestRefused(DomainError):
    """A request that cannot be filed or decided as asked."""

    status = 422


class ReasonTooShort(RequestRefused):
    message = _l("Expliquez en quelques mots pourquoi l'espace doit être certifié (10 caractères au moins).")


class AttachmentRefused(RequestRefused):
    message = _l("La pièce jointe doit être un PDF, un PNG ou un JPEG de 5 Mo au plus.")


class RequestPending(RequestRefused):
    message = _l("Une demande est déjà en cours pour ce service.")


class RejectionWithoutReason(RequestRefused):
    message = _l("Indiquez la raison du refus : elle est communiquée à l'entreprise.")


class AlreadyDecided(RequestRefused):
    message = _l("Cette demande a déjà été traitée.")


class SpaceGone(RequestRefused):
    status = 409
    message = _l("L'espace de cette demande a été supprimé ou fusionné : elle ne peut plus qu'être refusée.")


class HolderAlready(RequestRefused):
    message = _l("L'espace est déjà certifié comme titulaire pour ce service.")


def _request_columns():
    """A request's columns without its attachment: lists never load the documents."""
    return [f for f in CertificationRequest._meta.sorted_fields if f.name != "attachment"]


# --- The space's side ---------------------------------------------------------------------


def file_request(member, user, service_id, reason, attachment=None, attachment_name=""):
    require(member, "manage_certifications")
    require_professional(member)
    service = (
        Service.select()
        .join(Administration)
        .where(Service.id == service_id, Service.accepts_request == True, catalogue.offered())  # noqa: E712
        .first()
    )
    if service is None:
        raise NotFound()
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ReasonTooShort()
    kind = ""
    if attachment:
        kind = attachment_type(attachment)
        if kind is None or len(attachment) > MAX_ATTACHMENT:
            raise AttachmentRefused()
    with db.atomic():
        lock_row(Space, member.space_id)
        if (
            CertificationRequest.select()
            .where(
                CertificationRequest.space == member.space_id,
                CertificationRequest.service == service.id,
                CertificationRequest.status == "pending",
            )
            .exists()
        ):
            raise RequestPending()
        request = CertificationRequest.create(
            space=member.space_id,
            service=service,
            requested_by=user,
            reason=reason[:4000],
            attachment=attachment or None,
            attachment_type=kind,
            attachment_name=(attachment_name or "")[:200],
        )
        audit.record(
            "certification.requested",
            actor=user,
            space_id=member.space_id,
            service=service.slug,
            request_id=request.id,
        )
    return request


def space_requests(member):
    return list(
        CertificationRequest.select(*_request_columns(), Service)
        .join(Service)
        .where(CertificationRequest.space == member.space_id)
        .order_by(CertificationRequest.created_at.desc())
        .limit(20)
    )


# --- The agents' side (the back-office) -------------------------------------------------------


def pending_requests(agent, page=1):
    """The requests waiting for the agent's administration, oldest first."""
    select = (
        CertificationRequest.select(*_request_columns(), Service, Space)
        .join(Service)
        .switch(CertificationRequest)
        .join(Space)
        .where(Service.administration == agent.administration_id, CertificationRequest.status == "pending")
    )
    return list(select.order_by(CertificationRequest.created_at).paginate(page, PAGE_SIZE)), select.count()


def request_attachment(agent, request_id):
    """The supporting document of a request of the agent's administration."""
    request = (
        CertificationRequest.select()
        .join(Service)
        .where(
            CertificationRequest.id == request_id,
            Service.administration == agent.administration_id,
            CertificationRequest.attachment.is_null(False),
        )
        .first()
    )
    if request is None:
        raise NotFound()
    return request


def decide_request(agent, request_id, approve, reason=""):
    request = (
        CertificationRequest.select(CertificationRequest, Service, Space)
        .join(Service)
        .switch(CertificationRequest)
        .join(Space)
        .where(CertificationRequest.id == request_id, Service.administration == agent.administration_id)
        .first()
    )
    if request is None:
        raise NotFound()
    reason = (reason or "").strip()
    if not approve and not reason:
        raise RejectionWithoutReason()
    if approve and not request.space.is_live:
        raise SpaceGone()
    status = "approved" if approve else "rejected"
    try:
        with db.atomic():
            decided = (
                CertificationRequest.update(
                    status=status, decided_by=agent, decided_at=clock.now(), decision_reason=reason[:4000]
                )
                .where(CertificationRequest.id == request.id, CertificationRequest.status == "pending")
                .execute()
            )
            if not decided:
                raise AlreadyDecided()
            if approve:
                Certification.create(
                    space=request.space_id,
                    service=request.service_id,
                    kind="holder",
                    company_identifier=request.space.identifier,
                    company_name=request.space.company_name,
                    ends_at=clock.now() + DEFAULT_VALIDITY,
                )
            name = languages.lazy_localized(request.service, "name")
            audit.record(
                f"certification.request_{status}",
                actor=agent,
                space_id=request.space_id,
                request_id=request.id,
                service=request.service.slug,
            )
            message = (
                _l(
                    "Votre demande de certification pour le service « %(service)s » a été approuvée.",
                    service=name,
                )
                if approve
                else _l(
                    "Votre demande de certification pour le service « %(service)s » a été refusée.",
                    service=name,
                )
            )
            body = str(message)
            if reason:
                body += "\n\n" + str(_l("Motif : %(reason)s", reason=reason[:4000]))
            sent_communications.send_decision(
                agent,
                [request.space_id],
                _l(
                    "Demande de certification : %(service)s",
                    service=languages.localized(request.service, "name"),
                ),
                message,
                body,
            )
    except IntegrityError:
        raise HolderAlready() from None
    return request


# --- How requests move in a merge (listed in services/merge.py) -------------------------


def merge_count(source_id):
    return CertificationRequest.select().where(CertificationRequest.space == source_id).count()


def merge_move(source_id, target_id, resolutions):
    CertificationRequest.update(space=target_id).where(CertificationRequest.space == source_id).execute()
