"""Communications, the administration's side: Envoyer une communication (a message and PDF
documents to the spaces of one company, or of every company certified for one of the
administration's services), the decisions an agent takes on what a space filed (sent the
same way to that space), the administration's sent list and each communication's read
receipts. Who sees and who reads is services/communications.py.

Everything is checked before anything is written; then the communication, its recipients,
its documents, the members' mails (one per person, a link, never the content) and the audit
entry go in one transaction.
"""

import hashlib
import re
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import JOIN, Value, chunked, fn

import clock
import validators
from database import PAGE_SIZE
from models import (
    Administration,
    Certification,
    Communication,
    CommunicationDocument,
    CommunicationRead,
    CommunicationRecipient,
    Membership,
    Service,
    Space,
    User,
    clip,
    db,
)
from services import InvalidInput, audit, catalogue, files, languages
from services.communications import (
    CommunicationNotFound,
    certified_expression,
    messagerie_spaces,
    reached_spaces,
)
from services.mail import queue_mails
from services.urls import external_url

MAX_DOCUMENT = 10 * 1024 * 1024
MAX_DOCUMENTS = 5
MAX_BODY = 20_000
AUDIENCES = ("company", "service")


# --- Errors ------------------------------------------------------------------------------
# `field` names the form field a refusal is shown beside.


class SubjectMissing(InvalidInput):
    field = "subject"
    message = _l("Saisissez l'objet de la communication.")


class BodyMissing(InvalidInput):
    field = "body"
    message = _l("Saisissez le texte de la communication.")


class BodyTooLong(InvalidInput):
    field = "body"
    message = _l("Le texte ne peut pas dépasser 20 000 caractères.")


class InvalidCompany(InvalidInput):
    """The identifier is not an RCS or SIREN number: the validator's message is given."""

    field = "identifier"


class ServiceMissing(InvalidInput):
    field = "service"
    message = _l("Choisissez un service de votre administration.")


class NobodyCertified(InvalidInput):
    field = "service"
    message = _l(
        "Aucune entreprise n'est certifiée pour ce service pour le moment : personne ne la recevrait."
    )


class DocumentRefused(InvalidInput):
    field = "documents"
    message = _l("« %(name)s » n'est pas un PDF de 10 Mo au plus.")

    def __init__(self, name):
        super().__init__(str(self.message) % {"name": name})


class TooManyDocuments(InvalidInput):
    field = "documents"
    message = _l("Joignez 5 documents au plus.")


# --- Sending -----------------------------------------------------------------------------------


class Upload(NamedTuple):
    name: str
    content: bytes


def audience_services(agent):
    """The administration's services on offer (it and they active), for "every company
    certified for…"."""
    return list(
        Service.select(Service.id, Service.slug, Service.name, Service.translations)
        .join(Administration)
        .where(Service.administration == agent.administration_id, catalogue.offered())
        .order_by(Service.name, Service.id)
    )


def _checked_documents(uploads):
    uploads = [upload for upload in uploads if upload.name or upload.content]
    if len(uploads) > MAX_DOCUMENTS:
        raise TooManyDocuments()
    checked = []
    for upload in uploads:
        kind = files.content_type(upload.content)
        if kind != "application/pdf" or len(upload.content) > MAX_DOCUMENT:
            raise DocumentRefused(upload.name or "?")
        name = files.download_name(upload.name, kind, "document")
        checked.append((name, kind, upload.content))
    return checked


def _companies(agent, audience, identifier, service_id):
    """[(identifier, name)] the communication goes to, its audience as the sent list says
    it, and the service (None for one company)."""
    if audience == "company":
        try:
            _kind, identifier = validators.company_identifier(identifier)
        except validators.InvalidIdentifier as invalid:
            raise InvalidCompany(str(invalid)) from None
        name = (
            Space.select(Space.company_name)
            .where(Space.identifier == identifier, Space.kind == "professional", Space.live())
            .order_by(Space.id.desc())
            .scalar()
        ) or ""
        label = _l("Entreprise %(identifier)s", identifier=identifier)
        if name:
            label = _l("Entreprise %(identifier)s (%(name)s)", identifier=identifier, name=name)
        return [(identifier, name)], str(label), None
    service_id = str(service_id or "")
    service = (
        Service.select(Service, Administration)
        .join(Administration)
        .where(
            Service.id == (int(service_id) if re.fullmatch(r"[0-9]{1,9}", service_id) else 0),
            Service.administration == agent.administration_id,
            catalogue.offered(),
        )
        .first()
    )
    if service is None:
        raise ServiceMissing()
    rows = (
        Certification.select(Certification.company_identifier, fn.MAX(Certification.company_name))
        .join(Space, on=(Certification.space == Space.id))
        .where(
            Certification.service == service.id,
            Certification.kind == "holder",
            Certification.live(clock.now()),
            Certification.company_identifier != "",
            Space.live(),
        )
        .group_by(Certification.company_identifier)
        .order_by(Certification.company_identifier)
        .tuples()
    )
    companies = list(rows)
    if not companies:
        raise NobodyCertified()
    label = _l("Entreprises certifiées pour « %(service)s »", service=languages.localized(service, "name"))
    return companies, str(label), service


def send(agent, audience, identifier, service_id, subject, body, uploads=()):
    """Envoyer une communication: to the spaces of one company (`identifier`) or of every
    company holding a live holder certification for one of the administration's services
    (`service_id`). Everything is checked first; then, in one transaction, the communication,
    its recipients and documents, the members' mails and the audit entry. Returns (the
    communication, the number of spaces it reaches today)."""
    subject = validators.one_line(subject or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    if not subject:
        raise SubjectMissing()
    if not body:
        raise BodyMissing()
    if len(body) > MAX_BODY:
        raise BodyTooLong()
    if audience not in AUDIENCES:
        audience = "company"
    companies, label, service = _companies(agent, audience, identifier, service_id)
    checked = _checked_documents(uploads)
    with db.atomic():
        communication = _create(agent, "message", subject, body, label)
        for batch in chunked(companies, 200):
            CommunicationRecipient.insert_many(
                [
                    {"communication": communication.id, "company_identifier": company, "company_name": name}
                    for company, name in batch
                ]
            ).execute()
        for name, kind, content in checked:
            CommunicationDocument.create(
                communication=communication,
                name=name,
                content_type=kind,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
        reached = _notify(
            communication,
            _l(
                "Nouvelle communication : %(administration)s",
                administration=languages.lazy_localized(agent.administration, "name"),
            ),
            _l(
                "L'administration « %(administration)s » vous a adressé une communication dans votre "
                "espace professionnel.",
                administration=languages.lazy_localized(agent.administration, "name"),
            ),
        )
        audit.record(
            "communication.sent",
            actor=agent,
            communication_id=communication.id,
            audience=audience,
            company=None if service else companies[0][0],
            service=service.slug if service else None,
            companies=len(companies),
            documents=len(checked),
            spaces=reached,
        )
    return communication, reached


def send_decision(agent, space_ids, subject, message, body):
    """A decision on what a space filed, as a communication of the deciding administration
    to `space_ids` (the space, and a mandant's too): in the caller's transaction. `subject`
    and `message` are the members' mail, in general terms; `body` is what the space reads.
    None when no space is left to receive it."""
    spaces = list(
        Space.select(Space.id, Space.name, Space.identifier, Space.company_name).where(
            Space.id.in_(space_ids)
        )
    )
    if not spaces:
        return None
    audience = ", ".join(f"{space.name} ({space.identifier})" for space in spaces)
    communication = _create(agent, "decision", str(subject), str(body), audience)
    CommunicationRecipient.insert_many(
        [
            {
                "communication": communication.id,
                "company_identifier": space.identifier,
                "company_name": space.company_name,
                "space": space.id,
            }
            for space in spaces
        ]
    ).execute()
    _notify(communication, subject, message)
    return communication


def _create(agent, kind, subject, body, audience):
    return Communication.create(
        administration=agent.administration_id,
        sent_by=agent.id,
        sender=clip(Communication.sender, agent.display_name),
        kind=kind,
        subject=clip(Communication.subject, subject),
        body=body,
        audience=clip(Communication.audience, audience),
        sent_at=clock.now(),
    )


def _notify(communication, subject, message):
    """One mail per person among the members of the reached spaces (whatever the number of
    their spaces reached), linking to the communication in one of them, a space that reads
    it first; returns the number of spaces reached."""
    spaces = Space.select(Space.id).where(reached_spaces(communication.id))
    rows = (
        Membership.select(
            User.email, User.language, Membership.space, certified_expression(Membership.space).alias("reads")
        )
        .join(User)
        .where(Membership.space.in_(spaces), User.email != "")
        .order_by(User.email, Membership.space)
        .tuples()
    )
    best = {}
    for email, language, space_id, reads in rows:
        key = email.lower()
        if key not in best or (reads and not best[key][2]):
            best[key] = (email, space_id, bool(reads), language)
    links = {
        space_id: external_url("spaces.communication", space_id=space_id, communication_id=communication.id)
        for space_id in {space_id for _email, space_id, _reads, _language in best.values()}
    }
    queue_mails(
        [(email, language, links[space_id]) for email, space_id, _reads, language in best.values()],
        subject,
        "notification",
        message=message,
    )
    return spaces.count()


# --- The sent list and the receipts ---------------------------------------------------------


def _sent(agent):
    return Communication.administration == agent.administration_id


def sent(agent, query="", page=1, per_page=PAGE_SIZE):
    """(communications, total) the agent's administration sent, newest first, `query`
    searching the subject and the audience; each with `reads` (spaces that read it) and
    `reached` (those and the live spaces it reaches that have not). Two queries per page."""
    reads = CommunicationRead.select(fn.COUNT(CommunicationRead.id)).where(
        CommunicationRead.communication == Communication.id
    )
    unread = Space.select(fn.COUNT(Space.id)).where(
        reached_spaces(Communication.id),
        ~fn.EXISTS(
            CommunicationRead.select(Value(1)).where(
                CommunicationRead.communication == Communication.id, CommunicationRead.space == Space.id
            )
        ),
    )
    condition = _sent(agent)
    query = (query or "").strip()[:100]
    if query:
        condition &= Communication.subject.contains(query) | Communication.audience.contains(query)
    select = Communication.select(
        Communication.id,
        Communication.kind,
        Communication.subject,
        Communication.sender,
        Communication.audience,
        Communication.sent_at,
        reads.alias("reads"),
        unread.alias("unread"),
    ).where(condition)
    rows = list(
        select.order_by(Communication.sent_at.desc(), Communication.id.desc()).paginate(
            max(page, 1), per_page
        )
    )
    for row in rows:
        row.reached = row.reads + row.unread
    return rows, Communication.select().where(condition).count()


def sent_one(agent, communication_id):
    found = Communication.get_or_none(_sent(agent), Communication.id == communication_id)
    if found is None:
        raise CommunicationNotFound()
    return found


def receipts(communication, query="", page=1, per_page=PAGE_SIZE):
    """(spaces, total) of a communication: those it reaches today and those that read it
    (a space deleted since keeps its receipt), each with its receipt (`read_at`, `reader`,
    None when unread) and whether it may read it (`reads`). Two queries per page."""
    read_by = CommunicationRead.select(CommunicationRead.space).where(
        CommunicationRead.communication == communication.id
    )
    named = CommunicationRecipient.select(CommunicationRecipient.space).where(
        CommunicationRecipient.communication == communication.id, CommunicationRecipient.space.is_null(False)
    )
    reads = (
        certified_expression(Space.id)
        | Space.id.in_(named)
        | Space.id.in_(messagerie_spaces(communication.id))
    )
    select = (
        Space.select(
            Space.id,
            Space.name,
            Space.company_name,
            Space.identifier,
            CommunicationRead.read_at,
            CommunicationRead.reader,
            reads.alias("reads"),
        )
        .join(
            CommunicationRead,
            JOIN.LEFT_OUTER,
            on=(CommunicationRead.space == Space.id) & (CommunicationRead.communication == communication.id),
        )
        .where(Space.id.in_(read_by) | reached_spaces(communication.id))
    )
    query = (query or "").strip()[:100]
    if query:
        select = select.where(
            Space.name.contains(query) | Space.company_name.contains(query) | Space.identifier.contains(query)
        )
    rows = list(
        select.order_by(
            CommunicationRead.read_at.is_null(), Space.company_name, Space.name, Space.id
        ).paginate(max(page, 1), per_page)
    )
    return rows, select.count()


def agent_document(agent, communication_id, document_id):
    communication = sent_one(agent, communication_id)
    found = CommunicationDocument.get_or_none(
        CommunicationDocument.id == document_id, CommunicationDocument.communication == communication.id
    )
    if found is None:
        raise CommunicationNotFound()
    return found
