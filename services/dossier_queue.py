"""The administrations' side of dossiers (the back-office): the queue of an agent's
administration, a dossier as its agents see it, and their decisions.

An agent sees the dossiers of their administration's procedures once transmitted, never a
draft, and never another administration's (404, as if it did not exist). A decision moves
the dossier along `dossiers.TRANSITIONS` with the conditional UPDATE of
`dossiers.change_status` (two agents deciding at once: one wins, the other is told), in one
transaction with its history entry, its message in the thread, its mails to the members
(a link, never the content) and its audit entry.
"""

from typing import NamedTuple

from flask_babel import lazy_gettext as _l

from database import PAGE_SIZE
from models import Administration, Dossier, DossierFile, Procedure, Receipt, Space, db
from services import DomainError, audit, dossiers, languages, sent_communications, spaces
from services.certifications import search

# The statuses an agent may filter on: every one but the draft, which an agent never sees.
QUEUE_STATUSES = {status: label for status, label in dossiers.STATUSES.items() if status != "draft"}


# --- Errors ------------------------------------------------------------------------------


class DossierNotFound(DomainError):
    status = 404
    message = _l("Ce dossier n'existe pas.")


class DecisionNotAllowed(DomainError):
    """The decision does not follow from the dossier's status (accepting a dossier nobody
    took, deciding a closed one): refused before anything is written."""

    status = 409
    message = _l("Cette décision n'est pas possible pour un dossier au statut « %(status)s ».")

    def __init__(self, status):
        super().__init__(str(self.message) % {"status": dossiers.STATUSES[status]})


class ComplementWithoutMessage(spaces.InvalidInput):
    field = "text"
    message = _l("Écrivez le complément demandé : ce message est envoyé à l'entreprise.")


class RejectionWithoutReason(spaces.InvalidInput):
    field = "text"
    message = _l("Indiquez le motif du refus : il est communiqué à l'entreprise.")


# --- The decisions -----------------------------------------------------------------------


class Decision(NamedTuple):
    key: str
    to: str  # the status it moves the dossier to
    label: str  # the button
    event: str  # the history entry's action, and the audit's "dossier.<event>"
    subject: str  # the members' mail, in general terms (%(reference)s)
    message: str
    text_label: str | None = None  # the text it requires: a message to the company, a reason
    text_missing: type | None = None


DECISIONS = {
    decision.key: decision
    for decision in (
        Decision(
            "take",
            "in_progress",
            _l("Prendre en charge"),
            "taken",
            _l("Dossier %(reference)s : pris en charge"),
            _l("Votre dossier %(reference)s est en cours de traitement par l'administration."),
        ),
        Decision(
            "complement",
            "complement",
            _l("Demander un complément"),
            "complement",
            _l("Dossier %(reference)s : complément demandé"),
            _l(
                "L'administration demande un complément pour votre dossier %(reference)s : son message "
                "vous attend sur la page du dossier."
            ),
            _l("Message à l'entreprise (le complément demandé)"),
            ComplementWithoutMessage,
        ),
        Decision(
            "accept",
            "accepted",
            _l("Accepter"),
            "accepted",
            _l("Dossier %(reference)s : accepté"),
            _l("Votre dossier %(reference)s a été accepté par l'administration."),
        ),
        Decision(
            "reject",
            "rejected",
            _l("Refuser"),
            "rejected",
            _l("Dossier %(reference)s : refusé"),
            _l(
                "Votre dossier %(reference)s a été refusé par l'administration : le motif est indiqué "
                "sur la page du dossier."
            ),
            _l("Motif du refus (communiqué à l'entreprise)"),
            RejectionWithoutReason,
        ),
    )
}


def actions_for(dossier):
    """The decisions the dossier's current status allows, in the order they are offered."""
    return [d for d in DECISIONS.values() if dossier.status in dossiers.TRANSITIONS[d.to]]


def decide(agent, dossier_id, key, text=""):
    """Take the decision `key` (of DECISIONS) on a dossier of the agent's administration.
    A decision that requires a text (a complement's message, a refusal's reason) is refused
    without one; the text is posted in the thread as the agent's message (a refusal's reason
    is also the history entry's note)."""
    decision = DECISIONS[key]
    dossier = dossier_of(agent, dossier_id)
    if decision not in actions_for(dossier):
        raise DecisionNotAllowed(dossier.status)
    text = (text or "").strip()
    if decision.text_missing and not text:
        raise decision.text_missing()
    with db.atomic():
        dossiers.change_status(
            dossier,
            decision.to,
            agent=agent,
            action=decision.event,
            note=text if key == "reject" else "",
        )
        if text:
            dossiers.add_message(dossier, text, agent=agent)
        _communicate(agent, dossier, decision.subject, decision.message, text)
        audit.record(
            f"dossier.{decision.event}",
            actor=agent,
            space_id=dossier.space_id,
            dossier_id=dossier.id,
            reference=dossier.reference,
        )
    return dossier


def send_message(agent, dossier_id, body):
    """Envoyer un message: the agent writes to the company while the dossier is open (as the
    company may);
    the members are told that a message waits, not what it says."""
    dossier = dossier_of(agent, dossier_id)
    if dossier.status not in dossiers.THREAD_OPEN:  # the company could not answer
        raise dossiers.ThreadClosed()
    with db.atomic():
        message = dossiers.add_message(dossier, body, agent=agent)
        dossiers.record_event(dossier, "message", agent=agent)
        _communicate(
            agent,
            dossier,
            _l("Dossier %(reference)s : nouveau message"),
            _l("L'administration vous a écrit au sujet de votre dossier %(reference)s."),
            message.body,
        )
        audit.record(
            "dossier.agent_message",
            actor=agent,
            space_id=dossier.space_id,
            dossier_id=dossier.id,
            reference=dossier.reference,
        )
    return message


def _communicate(agent, dossier, subject, message, text=""):
    """The decision or message as a communication of the administration to the spaces that
    see the dossier: `message` says what happened (the members' mail too), `text` what the
    agent wrote (a complement asked, a reason, a message), which only the space reads."""
    reference = dossier.reference or ""
    subject = languages.lazy_format(subject, reference=reference)
    message = languages.lazy_format(message, reference=reference)
    body = f"{message}\n\n{text}" if text else str(message)
    sent_communications.send_decision(agent, dossiers.seen_by(dossier), subject, message, body)


# --- The queue -----------------------------------------------------------------------------


def _of_administration(select, agent):
    return select.where(Procedure.administration == agent.administration_id, Dossier.status != "draft")


def queue(agent, status=None, procedure=None, query="", page=1, per_page=PAGE_SIZE):
    """(dossiers, total) of the agent's administration, the last changed first: filtered by
    status and by procedure, `query` searching the reference and the company (name or
    identifier). Three queries whatever the number of dossiers; a row carries what the list
    shows, not the dossier's data."""
    select = _of_administration(
        Dossier.select(
            Dossier.id,
            Dossier.procedure,
            Dossier.reference,
            Dossier.company_name,
            Dossier.company_identifier,
            Dossier.status,
            Dossier.updated_at,
        ).join(Procedure),
        agent,
    )
    if status in QUEUE_STATUSES:
        select = select.where(Dossier.status == status)
    if procedure:
        select = select.where(Dossier.procedure == procedure)
    select = search(select, query, Dossier.reference, Dossier.company_name, Dossier.company_identifier)
    order = (Dossier.updated_at.desc(), Dossier.id.desc())
    rows = list(select.order_by(*order).paginate(max(page, 1), per_page))
    # The title's translations are in the definition.
    dossiers.with_procedures(rows, Procedure.select(Procedure.id, Procedure.title, Procedure.definition))
    return rows, select.count()


def procedures(agent):
    """The administration's procedures, for the queue's filter."""
    return list(
        Procedure.select(Procedure.id, Procedure.title, Procedure.definition)
        .where(Procedure.administration == agent.administration_id)
        .order_by(Procedure.title, Procedure.id)
    )


# --- One dossier ---------------------------------------------------------------------------


def dossier_of(agent, dossier_id):
    """The dossier with its procedure and the space it was filed in (the mandatary's when
    filed for a mandant), if it is a transmitted dossier of the agent's administration."""
    found = _of_administration(
        Dossier.select(Dossier, Procedure, Administration, Space)
        .join(Procedure)
        .join(Administration)
        .switch(Dossier)
        .join(Space, on=Dossier.space),
        agent,
    ).where(Dossier.id == dossier_id)
    dossier = found.first()
    if dossier is None:
        raise DossierNotFound()
    return dossier


def _file_columns():
    """A file's columns without its content: pages list files, only a download reads one."""
    return [f for f in DossierFile._meta.sorted_fields if f.name != "content"]


def files(dossier):
    """{id: DossierFile} of the dossier, fields' and messages' alike, without their content."""
    select = DossierFile.select(*_file_columns()).where(DossierFile.dossier == dossier.id)
    return {file.id: file for file in select.order_by(DossierFile.id)}


def receipts(dossier):
    columns = [f for f in Receipt._meta.sorted_fields if f.name != "pdf"]
    return list(Receipt.select(*columns).where(Receipt.dossier == dossier.id).order_by(Receipt.number))


def file_of(agent, dossier_id, file_id):
    """A file of a dossier of the agent's administration, with its content."""
    dossier = dossier_of(agent, dossier_id)
    found = DossierFile.get_or_none(DossierFile.id == file_id, DossierFile.dossier == dossier.id)
    if found is None:
        raise DossierNotFound()
    return found


def receipt_of(agent, dossier_id, number):
    """A receipt of a dossier of the agent's administration, with its signed PDF."""
    dossier = dossier_of(agent, dossier_id)
    found = Receipt.get_or_none(Receipt.dossier == dossier.id, Receipt.number == number)
    if found is None:
        raise DossierNotFound()
    return dossier, found
