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

A Mode expert space has no company of its own: it reads what an administration sends to a
company for which it holds, through an adhesion (services/adhesions.py), a live
certification for that administration's Messagerie (a service that `requires_company_email`),
and only that administration's messages (`messagerie_communications`).

Opening a communication records the space's read receipt: the first reader of the space,
when (a unique index keeps the first of two concurrent reads). Sending, the decisions, the
sent list and the receipts, the administration's side, are services/sent_communications.py.
"""

from functools import cache
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import JOIN, IntegrityError, Value, fn

import clock
from database import PAGE_SIZE, Parameter, Prepared
from models import (
    Administration,
    Certification,
    Communication,
    CommunicationDocument,
    CommunicationRead,
    CommunicationRecipient,
    Service,
    Space,
    clip,
    db,
)
from services import DomainError, audit, languages

# --- Errors ------------------------------------------------------------------------------


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


# --- Who a communication reaches -------------------------------------------------------------


def _reaching(space_id, identifier):
    """The condition on the recipient rows that reach the space: its own, and its company's
    (`identifier`, when it has one)."""
    Recipient = CommunicationRecipient
    condition = Recipient.space == space_id
    if identifier:
        condition |= Recipient.space.is_null() & (Recipient.company_identifier == identifier)
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


def certified_expression(space_column):
    """`certified` as a column of a query that does not select from Certification itself."""
    return fn.EXISTS(
        Certification.select(Value(1)).where(
            Certification.space == space_column,
            Certification.kind == "holder",
            Certification.live(clock.now()),
        )
    )


# --- The Messagerie of an adhesion -------------------------------------------------------------


def _messagerie_held(held, messagerie, now=None):
    """The condition on a Certification (alias `held`) joined to its Service (`messagerie`):
    a live certification an adhesion gave for a Messagerie (at `now`, the present unless
    given)."""
    now = clock.now() if now is None else now
    return (
        held.adhesion.is_null(False)
        & held.revoked_at.is_null()
        & (held.ends_at.is_null() | (held.ends_at > now))
        & (messagerie.requires_company_email == True)  # noqa: E712 - SQL
    )


def messagerie_communications(space_id, now=None):
    """The ids of the communications the space reads through its adhesions' Messagerie: those
    an administration sent to a company for which the space holds a live Messagerie
    certification of that administration from an adhesion (one subquery; live at `now`, the
    present unless given)."""
    Recipient = CommunicationRecipient.alias("messagerie_recipient")
    Sent = Communication.alias("messagerie_sent")
    Held = Certification.alias("messagerie_held")
    Messagerie = Service.alias("messagerie_service")
    return (
        Recipient.select(Recipient.communication)
        .join(Sent, on=(Sent.id == Recipient.communication))
        .join(Held, on=(Held.company_identifier == Recipient.company_identifier))
        .join(
            Messagerie,
            on=(Messagerie.id == Held.service) & (Messagerie.administration == Sent.administration),
        )
        .where(Recipient.space.is_null(), Held.space == space_id, _messagerie_held(Held, Messagerie, now))
    )


def messagerie_spaces(communication_id):
    """The ids of the spaces that read the communication (`communication_id` may be a column of
    an outer query) through an adhesion's Messagerie."""
    Recipient = CommunicationRecipient.alias("messagerie_recipient")
    Sent = Communication.alias("messagerie_sent")
    Held = Certification.alias("messagerie_held")
    Messagerie = Service.alias("messagerie_service")
    return (
        Held.select(Held.space)
        .join(Messagerie, on=(Messagerie.id == Held.service))
        .join(
            Recipient,
            on=(Recipient.company_identifier == Held.company_identifier) & Recipient.space.is_null(),
        )
        .join(
            Sent, on=(Sent.id == Recipient.communication) & (Sent.administration == Messagerie.administration)
        )
        .where(Recipient.communication == communication_id, _messagerie_held(Held, Messagerie))
    )


def _by_messagerie(space_id, subscriber_number, now=None):
    """Whether the outer query's communication is read through the space's Messagerie, for a
    Mode expert space (one with a `subscriber_number`: the only ones adhering for other
    companies); None for the others."""
    if not subscriber_number:
        return None
    return Communication.id.in_(messagerie_communications(space_id, now))


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


def _reaches(space_id, identifier, messagerie, now=None):
    """The condition on Communication of those that reach the space: its own, its company's
    (`identifier`, when it has one), and those its Messagerie reads (`messagerie`: a Mode
    expert space, see `_by_messagerie`). The values may be `Parameter`s of a prepared query."""
    reaching = CommunicationRecipient.select(CommunicationRecipient.communication).where(
        _reaching(space_id, identifier)
    )
    condition = Communication.id.in_(reaching)
    by_messagerie = _by_messagerie(space_id, messagerie, now)
    return condition if by_messagerie is None else condition | by_messagerie


def _reaches_space(space):
    return _reaches(space.id, space.identifier, space.subscriber_number)


def _space_select(space, *columns):
    Read = CommunicationRead
    return (
        Communication.select(*columns)
        .join(Administration)
        .switch(Communication)
        .join(Read, JOIN.LEFT_OUTER, on=(Read.communication == Communication.id) & (Read.space == space.id))
        .where(_reaches_space(space))
    )


@cache
def _unread(company, messagerie):
    """The unread count's query for the spaces with(out) a company identifier, with(out) a
    Messagerie: it runs on every page of a space, so it is compiled once per kind of space
    (`Prepared`)."""
    space_id = Parameter("space_id")
    # Neither the sender nor the read receipt's columns: the space's opened ones are
    # looked up once, not joined per communication.
    opened = CommunicationRead.select(CommunicationRead.communication).where(
        CommunicationRead.space == space_id
    )
    reaches = _reaches(space_id, Parameter("identifier") if company else None, messagerie, Parameter("now"))
    return Prepared(
        Communication.select(fn.COUNT(Communication.id)).where(reaches, Communication.id.not_in(opened))
    )


def unread_count(member):
    """The communications of the member's space nobody in it has opened: one query, for the
    tab's label on every page of the space (0 for a private space, without a query)."""
    space = member.space
    if space.is_private:
        return 0
    query = _unread(bool(space.identifier), bool(space.subscriber_number))
    return query.scalar(space_id=space.id, identifier=space.identifier, now=clock.now())


def space_list(member, query="", page=1, per_page=PAGE_SIZE):
    """(entries, total, certified) of the space, newest first, `query` searching the subject
    (of what the space may read) and the sending administration. Three queries whatever the
    number of communications (two in a Mode expert space, which reads all that reaches it)."""
    space = member.space
    if space.is_private:
        return [], 0, False
    by_messagerie = _by_messagerie(space.id, space.subscriber_number)
    if by_messagerie is not None and not space.identifier:
        # A Mode expert space: what reaches it is its own or read by its Messagerie.
        readable_everything = True
    else:
        readable_everything = certified(space.id)
    readable = Value(True) if readable_everything else _direct(space.id)
    if by_messagerie is not None and not readable_everything:
        readable = readable | by_messagerie
    select = _space_select(
        space,
        Communication.id,
        Communication.kind,
        Communication.subject,
        Communication.sent_at,
        Administration.name,
        Administration.translations,
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
            | (subject if readable_everything else subject & readable)
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
            languages.localized(row.administration, "name"),
            row.administration.code,
            row.communicationread.read_at if row.communicationread else None,
            row.communicationread.reader if row.communicationread else "",
            bool(row.readable),
        )
        for row in rows
    ]
    # Without a search, the total needs neither the sender nor the read receipt (one per
    # communication and space at most).
    counted = select if query else Communication.select().where(_reaches_space(space))
    return entries, counted.count(), readable_everything


def _of_space(member, communication_id):
    """The communication if it reaches the member's space, and whether the space reads it."""
    space = member.space
    if space.is_private:
        raise CommunicationNotFound()
    readable = _direct(space.id)
    by_messagerie = _by_messagerie(space.id, space.subscriber_number)
    if by_messagerie is not None:
        readable = readable | by_messagerie
    found = (
        Communication.select(Communication, Administration, readable.alias("direct"))
        .join(Administration)
        .where(Communication.id == communication_id, _reaches_space(space))
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


def reached_spaces(communication_id):
    """The condition on Space of the live professional spaces a communication reaches today
    (`communication_id` may be a column of an outer query), those reading it through an
    adhesion's Messagerie included."""
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
        & (
            Space.id.in_(named)
            | ((Space.identifier != "") & Space.identifier.in_(companies))
            | Space.id.in_(messagerie_spaces(communication_id))
        )
    )


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
