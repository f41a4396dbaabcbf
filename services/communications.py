"""Communications: what an administration sends to companies' spaces (a message with
optional PDF documents, "eDelivery"), and the decisions it takes on what a space filed
(a certification request, a dossier), which arrive the same way.

Who sees a communication is its CommunicationRecipient rows. A row naming a `space` reaches
that space only (a decision). A row naming a `company_identifier` reaches every live
professional space of that identifier, present and future; but anyone can open a space
claiming any identifier, so only a space holding a live holder certification (for any
service) reads it: an uncertified space of the company lists the entry (sender, date, Non
lu) without its subject and body, and opening it is refused (403) with the way to get
certified.

Opening a communication records the space's read receipt: the first reader of the space,
when (a unique index keeps the first of two concurrent reads). The members of every reached
space get one mail each, a link and never the content.
"""

import hashlib
import re
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import JOIN, IntegrityError, Value, chunked, fn

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
from services import DomainError, audit, files
from services.mail import queue_mail
from services.spaces import InvalidInput
from services.urls import external_url

MAX_DOCUMENT = 10 * 1024 * 1024
MAX_DOCUMENTS = 5
MAX_BODY = 20_000
AUDIENCES = ("company", "service")


# --- Errors ------------------------------------------------------------------------------
# `field` names the form field a refusal is shown beside.


class CommunicationNotFound(DomainError):
    status = 404
    message = _l("Cette communication n'existe pas.")


class NotCertifiedToRead(DomainError):
    """A space of the company that no certification proves to be the company's."""

    status = 403
    message = _l(
        "Cette communication est adressée à l'entreprise : seul un espace certifié de l'entreprise "
        "peut la lire. Faites certifier cet espace comme titulaire pour l'un des services en ligne."
    )


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


# --- Who a communication reaches -------------------------------------------------------------


def _reaching(space):
    """The condition on the recipient rows that reach `space`: its own, and its company's."""
    Recipient = CommunicationRecipient
    condition = Recipient.space == space.id
    if space.identifier:
        condition |= Recipient.space.is_null() & (Recipient.company_identifier == space.identifier)
    return condition


def _direct(space_id):
    """Whether the outer query's communication names `space_id` itself (a decision)."""
    Direct = CommunicationRecipient.alias("direct")
    return fn.EXISTS(
        Direct.select(Value(1)).where(Direct.communication == Communication.id, Direct.space == space_id)
    )


def certified(space_id):
    """Whether the space holds a live holder certification (any service): what proves it is
    the company's."""
    return (
        Certification.select()
        .where(
            Certification.space == space_id,
            Certification.kind == "holder",
            Certification.live(clock.now()),
        )
        .exists()
    )


def _certified_expression(space_column):
    """`certified` as a column of a query that does not select from Certification itself."""
    return fn.EXISTS(
        Certification.select(Value(1)).where(
            Certification.space == space_column,
            Certification.kind == "holder",
            Certification.live(clock.now()),
        )
    )


# --- The space's side ----------------------------------------------------------------------


class Entry(NamedTuple):
    """A line of the space's list: `readable` False hides the subject."""

    id: int
    kind: str
    subject: str
    sent_at: object
    administration: str
    administration_code: str
    read_at: object
    reader: str
    readable: bool


def _space_select(space, *columns):
    Read = CommunicationRead
    reaching = CommunicationRecipient.select(CommunicationRecipient.communication).where(_reaching(space))
    return (
        Communication.select(*columns)
        .join(Administration)
        .switch(Communication)
        .join(Read, JOIN.LEFT_OUTER, on=(Read.communication == Communication.id) & (Read.space == space.id))
        .where(Communication.id.in_(reaching))
    )


def unread_count(member):
    """The communications of the member's space nobody in it has opened: one query, for the
    tab's label on every page of the space (0 for a private space, without a query)."""
    if member.space.is_private:
        return 0
    return _space_select(member.space).where(CommunicationRead.id.is_null()).count()


def space_list(member, query="", page=1, per_page=PAGE_SIZE):
    """(entries, total, certified) of the space, newest first, `query` searching the subject
    (of what the space may read) and the sending administration. Three queries whatever the
    number of communications."""
    space = member.space
    if space.is_private:
        return [], 0, False
    readable_everything = certified(space.id)
    readable = Value(True) if readable_everything else _direct(space.id)
    select = _space_select(
        space,
        Communication.id,
        Communication.kind,
        Communication.subject,
        Communication.sent_at,
        Administration.name,
        Administration.code,
        CommunicationRead.read_at,
        CommunicationRead.reader,
        readable.alias("readable"),
    )
    query = (query or "").strip()[:100]
    if query:
        subject = Communication.subject.contains(query)
        select = select.where(
            Administration.name.contains(query)
            | Administration.code.contains(query)
            | (subject if readable_everything else subject & _direct(space.id))
        )
    rows = select.order_by(Communication.sent_at.desc(), Communication.id.desc()).paginate(
        max(page, 1), per_page
    )
    entries = [
        Entry(
            row.id,
            row.kind,
            row.subject if row.readable else "",
            row.sent_at,
            row.administration.name,
            row.administration.code,
            row.communicationread.read_at if row.communicationread else None,
            row.communicationread.reader if row.communicationread else "",
            bool(row.readable),
        )
        for row in rows
    ]
    return entries, select.count(), readable_everything


def _of_space(member, communication_id):
    """The communication if it reaches the member's space, and whether the space reads it."""
    space = member.space
    if space.is_private:
        raise CommunicationNotFound()
    found = (
        Communication.select(Communication, Administration, _direct(space.id).alias("direct"))
        .join(Administration)
        .where(
            Communication.id == communication_id,
            Communication.id.in_(
                CommunicationRecipient.select(CommunicationRecipient.communication).where(_reaching(space))
            ),
        )
        .first()
    )
    if found is None:
        raise CommunicationNotFound()
    if not (found.direct or certified(space.id)):
        raise NotCertifiedToRead()
    return found


def _document_columns():
    """A document's columns without its content: pages list documents, a download reads one."""
    return [f for f in CommunicationDocument._meta.sorted_fields if f.name != "content"]


def documents(communication):
    return list(
        CommunicationDocument.select(*_document_columns())
        .where(CommunicationDocument.communication == communication.id)
        .order_by(CommunicationDocument.id)
    )


class Opened(NamedTuple):
    communication: Communication
    documents: list
    read: CommunicationRead  # the space's receipt: this reading, or the first one


def open_communication(member, user, communication_id):
    """The communication as the space reads it. The first opening in the space is its read
    receipt (who, when) and is audited; later ones, by anyone, change nothing."""
    communication = _of_space(member, communication_id)
    with db.atomic():
        try:
            with db.atomic():
                read = CommunicationRead.create(
                    communication=communication.id,
                    space=member.space_id,
                    user=user.id,
                    reader=clip(CommunicationRead.reader, user.display_name),
                    read_at=clock.now(),
                )
        except IntegrityError:  # read before, or at this very moment in another request
            read = CommunicationRead.get(
                CommunicationRead.communication == communication.id,
                CommunicationRead.space == member.space_id,
            )
        else:
            audit.record(
                "communication.read",
                actor=user,
                space_id=member.space_id,
                communication_id=communication.id,
                administration=communication.administration.code,
            )
    return Opened(communication, documents(communication), read)


def space_document(member, communication_id, document_id):
    """A document of a communication the member's space reads, with its content."""
    communication = _of_space(member, communication_id)
    found = CommunicationDocument.get_or_none(
        CommunicationDocument.id == document_id, CommunicationDocument.communication == communication.id
    )
    if found is None:
        raise CommunicationNotFound()
    return found


# --- The administration's side: sending ----------------------------------------------------


class Upload(NamedTuple):
    name: str
    content: bytes


def audience_services(agent):
    """The administration's active services, for "every company certified for…"."""
    return list(
        Service.select(Service.id, Service.slug, Service.name)
        .where(Service.administration == agent.administration_id, Service.active == True)  # noqa: E712
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
    service = Service.get_or_none(
        Service.id == (int(service_id) if re.fullmatch(r"[0-9]{1,9}", service_id) else 0),
        Service.administration == agent.administration_id,
        Service.active == True,  # noqa: E712
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
    label = _l("Entreprises certifiées pour « %(service)s »", service=service.name)
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
            _l("Nouvelle communication : %(administration)s", administration=agent.administration.name),
            _l(
                "L'administration « %(administration)s » vous a adressé une communication dans votre "
                "espace professionnel.",
                administration=agent.administration.name,
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
    and `message` are the members' mail, in general terms; `body` is what the space reads."""
    spaces = list(
        Space.select(Space.id, Space.name, Space.identifier, Space.company_name).where(
            Space.id.in_(space_ids)
        )
    )
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


def _reached_spaces(communication_id):
    """The condition on Space of the live professional spaces a communication reaches today
    (`communication_id` may be a column of an outer query)."""
    Recipient = CommunicationRecipient.alias("reaches")
    named = Recipient.select(Recipient.space).where(
        Recipient.communication == communication_id, Recipient.space.is_null(False)
    )
    companies = Recipient.select(Recipient.company_identifier).where(
        Recipient.communication == communication_id, Recipient.space.is_null()
    )
    return (
        Space.live()
        & (Space.kind == "professional")
        & (Space.id.in_(named) | ((Space.identifier != "") & Space.identifier.in_(companies)))
    )


def _notify(communication, subject, message):
    """One mail per person among the members of the reached spaces (whatever the number of
    their spaces reached), linking to the communication in one of them, a space that reads
    it first; returns the number of spaces reached."""
    spaces = Space.select(Space.id).where(_reached_spaces(communication.id))
    rows = (
        Membership.select(
            User.email, Membership.space, _certified_expression(Membership.space).alias("reads")
        )
        .join(User)
        .where(Membership.space.in_(spaces), User.email != "")
        .order_by(User.email, Membership.space)
        .tuples()
    )
    best = {}
    for email, space_id, reads in rows:
        key = email.lower()
        if key not in best or (reads and not best[key][1]):
            best[key] = (email, space_id, bool(reads))
    for email, space_id, _reads in best.values():
        link = external_url("spaces.communication", space_id=space_id, communication_id=communication.id)
        queue_mail(email, str(subject), "notification", message=str(message), link=link)
    return spaces.count()


# --- The administration's side: the sent list and the receipts ------------------------------


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
        _reached_spaces(Communication.id),
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
    reads = _certified_expression(Space.id) | Space.id.in_(named)
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
        .where(Space.id.in_(read_by) | _reached_spaces(communication.id))
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


# --- How communications move in a merge (listed in services/merge.py) ---------------------


def merge_count(source_id):
    """The decisions addressed to the source space and its read receipts."""
    named = CommunicationRecipient.select().where(CommunicationRecipient.space == source_id).count()
    return named + CommunicationRead.select().where(CommunicationRead.space == source_id).count()


def merge_move(source_id, target_id, resolutions):
    """Decisions addressed to the source now reach the target; its read receipts move too,
    but a receipt the target already has for a communication wins."""
    CommunicationRecipient.update(space=target_id).where(CommunicationRecipient.space == source_id).execute()
    in_target = CommunicationRead.select(CommunicationRead.communication).where(
        CommunicationRead.space == target_id
    )
    CommunicationRead.delete().where(
        CommunicationRead.space == source_id, CommunicationRead.communication.in_(in_target)
    ).execute()
    CommunicationRead.update(space=target_id).where(CommunicationRead.space == source_id).execute()
