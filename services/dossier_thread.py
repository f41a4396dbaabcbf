"""A dossier's thread on the space's side: Envoyer un message (with an optional attachment,
PDF, PNG or JPEG checked by content) while the administration has the dossier, the thread a
page at a time with its attachments, and downloading a dossier's files (its fields' and its
messages')."""

from typing import NamedTuple

from database import PAGE_SIZE, lock_row
from models import Dossier, DossierEvent, DossierFile, DossierMessage, db
from services import DomainError, dossier_files, dossiers, spaces


class AttachmentRefused(spaces.InvalidInput):
    field = "attachment"  # its message: why dossier_files refused the file


class Allowed(NamedTuple):
    """What the member may do on the dossier's page."""

    sign: bool
    message: bool


def allowed(member, dossier):
    """Whether the member may sign the dossier (as `dossiers.dossier_for` returned it) and
    write in its thread, by its rules (role, filing space, live mandate, status)."""
    return Allowed(
        _may(member, dossier, "edit"),
        _may(member, dossier, "message") and dossier.status in dossiers.THREAD_OPEN,
    )


def _may(member, dossier, action):
    try:
        dossiers.check_action(member, dossier, action)
    except DomainError:
        return False
    return True


def send(member, user, dossier_id, body, attachment=None, attachment_name=""):
    """Envoyer un message: from a manager or admin of the filing space, while the dossier is
    with the administration; the attachment (bytes) checked as the assistant's files are
    (`dossier_files`: PDF, PNG or JPEG by content, 10 MB, 50 MB a dossier). Returns the
    DossierMessage."""
    dossier = dossiers.dossier_for(member, dossier_id, "message")
    if dossier.status not in dossiers.THREAD_OPEN:
        raise dossiers.ThreadClosed()
    try:
        kind = dossier_files.checked_type(attachment) if attachment else None
        with db.atomic():
            lock_row(Dossier, dossier.id)  # the dossier's 50 MB, one upload at a time
            message = dossiers.add_message(dossier, body, user=user)
            if attachment:
                dossier_files.store(dossier.id, attachment_name, attachment, kind, message=message)
            dossiers.record_event(dossier, "message", user=user)
    except dossier_files.FileRefused as refused:
        raise AttachmentRefused(str(refused)) from None
    return message


def page(dossier, number=None, per_page=PAGE_SIZE):
    """(messages, total, page number) of a page of the dossier's thread, oldest first, each
    message with its `attachments`; `number` None: the last page, where the newest messages
    are. Three queries at most whatever the page holds."""
    if number is None:
        total = DossierMessage.select().where(DossierMessage.dossier == dossier.id).count()
        number = max(1, -(-total // per_page))
        messages = dossiers.thread(dossier, number, per_page, total=total)[0]
    else:
        messages, total = dossiers.thread(dossier, number, per_page)
    by_message = {message.id: message for message in messages}
    for message in messages:
        message.attachments = []
    if by_message:
        for file in (
            DossierFile.select(*dossier_files.columns())
            .where(DossierFile.message.in_(list(by_message)))
            .order_by(DossierFile.id)
        ):
            by_message[file.message_id].attachments.append(file)
    return messages, total, number


def complement_request(dossier):
    """What the administration asked when it asked for a complement: the message its agent
    wrote with that decision (else the history entry's note); None without a request."""
    return decision_note(dossier, "complement")


def decision_note(dossier, action):
    """What the administration wrote with its last decision `action` ("complement",
    "rejected"): its agent's message posted with it, else the history entry's note; None
    without such a decision."""
    asked = (
        DossierEvent.select()
        .where(DossierEvent.dossier == dossier.id, DossierEvent.action == action)
        .order_by(DossierEvent.id.desc())
        .first()
    )
    if asked is None:
        return None
    message = (
        DossierMessage.select(DossierMessage.body)
        .where(
            DossierMessage.dossier == dossier.id,
            DossierMessage.author_agent.is_null(False),
            DossierMessage.created_at >= asked.created_at,
        )
        .order_by(DossierMessage.id)
        .first()
    )
    return message.body if message else asked.note


def attachment(member, dossier_id, file_id):
    """A file of a dossier the member's space sees: a field's, or a message's attachment."""
    dossier = dossiers.dossier_for(member, dossier_id)
    found = DossierFile.get_or_none(DossierFile.id == file_id, DossierFile.dossier == dossier.id)
    if found is None:
        raise dossiers.DossierNotFound()
    return found
