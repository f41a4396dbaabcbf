"""Dossiers: the filings of online procedures, the part every side shares. Who may see a
dossier and act on it, a space's list, starting one, moving it along its statuses, its
history, its thread and its members' notifications. Filling one in is `procedures` (the
definitions) and the assistant's views; signing is `submission`; the administrations'
decisions are `dossier_queue`.

A dossier is filed in a space (`space`) for a company: the space's own or, under a live
proxy certification of that space (`mandate`), a mandant's. Then the dossier is the
mandant's: it also shows, read-only, in the mandant's holder space (`mandant_space`), and
the mandatary can act on it only while the mandate lasts. When the mandate ends (revoked or
expired) the mandatary's dossiers for that company become read-only at once, then hidden
from the mandatary 30 days later (the mandant's space keeps them).
"""

from datetime import timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import JOIN

import clock
from database import PAGE_SIZE
from models import (
    AccessCode,
    Administration,
    Certification,
    Dossier,
    DossierEvent,
    DossierMessage,
    Membership,
    Procedure,
    Service,
    Space,
    User,
    clip,
    db,
)
from services import DomainError, audit, languages, spaces
from services.certifications import holder_certification, search
from services.mail import queue_mails
from services.urls import external_url

STATUSES = {
    "draft": _l("Brouillon"),
    "submitted": _l("Transmis"),
    "in_progress": _l("En cours de traitement"),
    "complement": _l("Complément demandé"),
    "accepted": _l("Accepté"),
    "rejected": _l("Refusé"),
}
# Each status and the statuses it may follow: Brouillon → Transmis → En cours de traitement
# → (Complément demandé ↔ Transmis) → Accepté | Refusé. A complement the company never gives
# can be refused, so that no dossier stays open for good.
TRANSITIONS = {
    "submitted": ("draft", "complement"),
    "in_progress": ("submitted",),
    "complement": ("in_progress",),
    "accepted": ("in_progress",),
    "rejected": ("in_progress", "complement"),
}
# What each history entry's `action` says.
EVENTS = {
    "created": _l("Dossier créé"),
    "submitted": _l("Signé et transmis"),
    "resubmitted": _l("Complément signé et transmis"),
    "taken": _l("Pris en charge"),
    "in_progress": _l("Pris en charge"),
    "complement": _l("Complément demandé"),
    "accepted": _l("Accepté"),
    "rejected": _l("Refusé"),
    "message": _l("Message envoyé"),
}
EDITABLE = ("draft", "complement")  # the assistant and the signature
# While the administration has the dossier (transmitted, being dealt with, waiting for a
# complement), both sides write in its thread; a closed dossier's thread is read only.
THREAD_OPEN = ("submitted", "in_progress", "complement")
CLOSED = ("accepted", "rejected")

# What each action on a dossier needs beyond reading it: the space's permission, and for
# "edit" an editable status.
ACTIONS = {"read": None, "edit": "run_procedures", "message": "run_procedures"}
# How long after its mandate ended a dossier filed under it still shows in the mandatary's
# space (read-only); the mandant's space always shows it.
SHOWN_AFTER_MANDATE = timedelta(days=30)


# --- Errors ------------------------------------------------------------------------------


class DossierNotFound(DomainError):
    status = 404
    message = _l("Ce dossier n'existe pas dans cet espace.")


class ProcedureNotFound(DomainError):
    status = 404
    message = _l("Cette démarche n'existe pas.")


class ProcedureClosed(DomainError):
    status = 409
    message = _l(
        "Cette démarche n'est plus proposée : aucun nouveau dossier ne peut être commencé. "
        "Les dossiers en cours continuent."
    )


class NotEditable(DomainError):
    status = 409
    message = _l(
        "Ce dossier a été transmis : il ne peut plus être modifié, sauf si l'administration demande "
        "un complément."
    )


class FiledByMandatary(DomainError):
    status = 403
    message = _l(
        "Ce dossier a été déposé par un mandataire pour votre entreprise : vous pouvez le consulter, "
        "seul l'espace du mandataire peut le modifier."
    )


class MandateEnded(DomainError):
    status = 403
    message = _l(
        "Le mandat sous lequel ce dossier a été déposé a pris fin : le dossier reste consultable, "
        "mais plus aucune action n'est possible pour cette entreprise."
    )


class NoMandate(DomainError):
    status = 403
    message = _l("Votre espace n'a pas de mandat actif pour cette entreprise et ce service.")


class CertificationRequired(DomainError):
    status = 403
    message = _l("Cette démarche demande la certification de votre espace pour le service « %(service)s ».")

    def __init__(self, service):
        super().__init__(str(self.message) % {"service": languages.localized(service, "name")})


class StatusChanged(DomainError):
    """Someone else moved the dossier meanwhile (another agent, another tab)."""

    status = 409
    message = _l(
        "Ce dossier a changé entre-temps (statut actuel : %(status)s). La page est à jour : "
        "vérifiez-la avant de recommencer."
    )

    def __init__(self, current):
        super().__init__(str(self.message) % {"status": STATUSES.get(current, current)})


class ThreadClosed(DomainError):
    status = 409
    message = _l(
        "Les messages sont possibles tant que le dossier est transmis, en cours de traitement ou en "
        "attente d'un complément."
    )


class MessageMissing(spaces.InvalidInput):
    field = "body"
    message = _l("Écrivez votre message.")


# --- Seeing a dossier ---------------------------------------------------------------------


def _visible_in(space_id):
    """The dossiers the space sees: those filed in it, except those filed under a mandate
    that ended more than 30 days ago, and those filed for its company by a mandatary.

    A dossier's mandate is a certification of the space it is filed in (`start` takes it
    from the space's own; a merge moves both): the mandates that ended long ago are looked
    up among the space's certifications, once per statement, not joined per dossier."""
    ended_long_ago = clock.now() - SHOWN_AFTER_MANDATE
    ended = Certification.select(Certification.id).where(
        Certification.space == space_id,
        (Certification.revoked_at <= ended_long_ago) | (Certification.ends_at <= ended_long_ago),
    )
    still_shown = Dossier.mandate.is_null() | Dossier.mandate.not_in(ended)
    return ((Dossier.space == space_id) & still_shown) | (Dossier.mandant_space == space_id)


# What `_lasts` reads of the mandate a dossier is filed under.
_MANDATE_COLUMNS = (Certification.id, Certification.space, Certification.revoked_at, Certification.ends_at)


def _with_procedure(*columns):
    """Dossiers with their procedure, administration and the columns of their mandate."""
    return (
        Dossier.select(Dossier, Procedure, Administration, *_MANDATE_COLUMNS, *columns)
        .join(Procedure)
        .join(Administration)
        .switch(Dossier)
        .join(Certification, JOIN.LEFT_OUTER, on=(Dossier.mandate == Certification.id))
    )


def dossier_for(member, dossier_id, action="read"):
    """The dossier (with its procedure and administration) if the member's space may see
    it, and may do `action` on it: "read" (any member of the filing space or of the mandant's
    holder space), "message" and "edit" (a manager or admin of the filing space, while the
    mandate it is filed under lasts; "edit" also needs a draft or a complement).

    Filed under a mandate, the dossier is read-only for the mandatary from the moment the
    mandate is revoked or expires (MandateEnded, 403), and 30 days later it is no longer the
    mandatary's to see at all (DossierNotFound, 404, as in its list); the mandant's holder
    space sees it always."""
    dossier = _with_procedure().where(Dossier.id == dossier_id, _visible_in(member.space_id)).first()
    if dossier is None:
        raise DossierNotFound()
    check_action(member, dossier, action)
    return dossier


def check_action(member, dossier, action):
    """`dossier_for`'s rules for `action` on a dossier it returned (no query): what the page
    offers is asked of the dossier it shows."""
    permission = ACTIONS[action]
    if permission is None:
        return
    spaces.require(member, permission)
    if dossier.space_id != member.space_id:
        raise FiledByMandatary()
    if dossier.mandate_id and not _lasts(dossier.mandate, dossier.space_id, clock.now()):
        raise MandateEnded()
    if action == "edit" and dossier.status not in EDITABLE:
        raise NotEditable()


def _lasts(certification, space_id, now):
    """Whether the proxy certification a dossier is filed under is still live in the dossier's
    space (revoked or expired: the mandatary's rights end at once)."""
    return certification.space_id == space_id and certification.status(now) == "active"


def _visible(space_id, status, *columns):
    """The dossiers the space sees, of `status` when it is one."""
    select = Dossier.select(*columns).where(_visible_in(space_id))
    return select.where(Dossier.status == status) if status in STATUSES else select


# What a line of the list shows of a dossier: not its values (`data`).
_LIST_COLUMNS = [field for field in Dossier._meta.sorted_fields if field is not Dossier.data]


def listing(member, query="", status=None, page=1, per_page=PAGE_SIZE):
    """(dossiers with their procedure, total) of the space, its own and those a mandatary
    filed for its company, the last changed first; `query` searches the reference, the
    company, the procedure and the mandatary that filed it. Three queries whatever the number
    of dossiers.

    Each row also carries what its line shows: `filed_by`, the name of the mandatary's
    space that filed it when that is not this space ("déposé par … (mandataire)"), else "";
    `mandate_ended`, whether it was filed under a mandate that has ended since (revoked or
    expired: the mandatary's line is read-only at once)."""
    now = clock.now()
    matching = _visible(member.space_id, status, Dossier.id)
    text = (query or "").strip()[:100]
    if text:
        matching = (
            matching.join(Procedure)
            .switch(Dossier)
            .join(Space, on=(Dossier.space == Space.id))
            .where(
                Dossier.reference.contains(text)
                | Dossier.company_name.contains(text)
                | Dossier.company_identifier.contains(text)
                | Procedure.title.contains(text)
                | (Space.name.contains(text) & (Dossier.space != member.space_id))  # "déposé par …"
            )
        )
    order = (Dossier.updated_at.desc(), Dossier.id.desc())
    # The page is found among the ids alone (an index of the space's dossiers in the list's
    # order holds them), then only its rows are read and joined: a page deep in a fiduciary's
    # 10,000 dossiers no longer sorts them all with their columns.
    page_ids = matching.order_by(*order).paginate(max(page, 1), per_page)
    rows = list(
        Dossier.select(*_LIST_COLUMNS, *_MANDATE_COLUMNS, Space.id, Space.name)
        .join(Certification, JOIN.LEFT_OUTER, on=(Dossier.mandate == Certification.id))
        .switch(Dossier)
        .join(Space, on=(Dossier.space == Space.id))
        .where(Dossier.id.in_(page_ids))
        .order_by(*order)
    )
    with_procedures(rows, Procedure.select(Procedure, Administration).join(Administration))
    for row in rows:
        row.filed_by = row.space.name if row.space_id != member.space_id else ""
        row.mandate_ended = row.mandate_id is not None and not _lasts(row.mandate, row.space_id, now)
    return rows, matching.count()


def with_procedures(rows, select):
    """Each dossier of a page given its procedure, read by `select` once per procedure (a
    page shows a few; a definition is kilobytes of JSON, read and parsed per row if joined)."""
    ids = {row.procedure_id for row in rows}
    procedures = {procedure.id: procedure for procedure in select.where(Procedure.id.in_(ids))}
    for row in rows:
        row.procedure = procedures[row.procedure_id]
    return rows


# --- Starting one -------------------------------------------------------------------------


def procedure(slug):
    found = (
        Procedure.select(Procedure, Administration, Service)
        .join(Administration)
        .switch(Procedure)
        .join(Service, JOIN.LEFT_OUTER)
        .where(Procedure.slug == slug)
        .first()
    )
    if found is None:
        raise ProcedureNotFound()
    return found


def startable_procedure(slug):
    """A procedure to start a dossier of: the helpdesk's deactivation (of the procedure or
    of its administration) stops new dossiers only."""
    found = procedure(slug)
    if not (found.active and found.administration.active):
        raise ProcedureClosed()
    return found


def _live_mandates(member, service_id):
    return (
        Certification.select(Certification, AccessCode)
        .join(AccessCode, JOIN.LEFT_OUTER)
        .where(
            Certification.space == member.space_id,
            Certification.service == service_id,
            Certification.kind == "proxy",
            Certification.live(clock.now()),
        )
        .order_by(Certification.company_name, Certification.id)
    )


def _for_own_company(member, found):
    """Whether the space may file the procedure for its own company: it needs no
    certification, or the space holds the live holder certification of its service."""
    if found.service_id is None or not found.service.requires_certification:
        return True
    return holder_certification(member.space_id, found.service_id) is not None


class StartChoice(NamedTuple):
    procedure: Procedure  # with its administration and service
    own: bool  # the space may file it for its own company
    mandates: list  # a page of the live mandates of the procedure's service that match
    total: int  # how many match


def start_choice(member, slug, query="", page=1, per_page=PAGE_SIZE):
    """Commencer une démarche, "pour quelle entreprise ?": the space's own company when it
    may, then its mandants, the live mandates for the procedure's service (by company,
    searched by name or identifier, a page at a time). Three queries at most."""
    spaces.require_professional(member)
    spaces.require(member, "run_procedures")
    found = startable_procedure(slug)
    own = _for_own_company(member, found)
    mandates, total = [], 0
    if found.service_id is not None:
        select = search(
            _live_mandates(member, found.service_id),
            query,
            Certification.company_name,
            Certification.company_identifier,
        )
        mandates, total = list(select.paginate(max(page, 1), per_page)), select.count()
    if not own and not total and not query:
        raise CertificationRequired(found.service)
    return StartChoice(found, own, mandates, total)


def start(member, actor, slug, mandate_id=None):
    """Commencer une démarche: a new draft for the space's own company or, with `mandate_id`,
    pour le compte de the mandant of that live proxy certification of the space. A procedure
    requiring a certification needs the space's live holder certification for its own
    company, or the mandate for the mandant's."""
    spaces.require_professional(member)
    spaces.require(member, "run_procedures")
    found = startable_procedure(slug)
    space = member.space
    company = {"company_identifier": space.identifier, "company_name": space.company_name}
    mandate = mandant_space_id = None
    if mandate_id is not None:
        if found.service_id is not None:
            mandate = _live_mandates(member, found.service_id).where(Certification.id == mandate_id).first()
        if mandate is None:
            raise NoMandate()
        company = {"company_identifier": mandate.company_identifier, "company_name": mandate.company_name}
        mandant_space_id = mandate.access_code.issued_by_space_id if mandate.access_code_id else None
    elif not _for_own_company(member, found):
        raise CertificationRequired(found.service)
    now = clock.now()
    with db.atomic():
        dossier = Dossier.create(
            procedure=found,
            space=member.space_id,
            mandate=mandate,
            mandant_space=mandant_space_id,
            created_by=actor,
            created_at=now,
            updated_at=now,
            **company,
        )
        record_event(dossier, "created", user=actor)
        audit.record(
            "dossier.created",
            actor=actor,
            space_id=member.space_id,
            dossier_id=dossier.id,
            procedure=found.slug,
            company=dossier.company_identifier,
            mandate_id=mandate.id if mandate else None,
        )
    dossier.procedure = found
    return dossier


def company_record(dossier):
    """The Space whose company record prefills the dossier: the filing space's own, or the
    mandant's holder space when filed for a mandant (None when the mandate came from an
    administration's code: the dossier then has the company's name and identifier only)."""
    if dossier.mandate_id is None:
        return Space.get_by_id(dossier.space_id)
    if dossier.mandant_space_id is None:
        return None
    return Space.get_or_none(Space.id == dossier.mandant_space_id)


# --- Moving it along ----------------------------------------------------------------------


def change_status(dossier, to, user=None, agent=None, note="", action=None, **fields):
    """Move the dossier to `to` if its current status allows it, as one conditional UPDATE
    whose row count is checked (two agents deciding at once: one wins, the other gets
    StatusChanged); with its history entry. Call it inside the operation's transaction."""
    now = clock.now()
    moved = (
        Dossier.update(status=to, updated_at=now, version=Dossier.version + 1, **fields)
        .where(Dossier.id == dossier.id, Dossier.status.in_(TRANSITIONS[to]))
        .execute()
    )
    if not moved:
        current = Dossier.select(Dossier.status).where(Dossier.id == dossier.id).scalar()
        raise StatusChanged(current)
    dossier.status = to
    dossier.updated_at = now
    record_event(dossier, action or to, user=user, agent=agent, note=note)
    return dossier


def record_event(dossier, action, user=None, agent=None, note=""):
    actor = user or agent
    return DossierEvent.create(
        dossier=dossier.id,
        action=action,
        status=dossier.status,
        actor=clip(DossierEvent.actor, actor.display_name if actor else ""),
        actor_user=user,
        actor_agent=agent,
        note=note,
        created_at=clock.now(),
    )


def history(dossier):
    return list(DossierEvent.select().where(DossierEvent.dossier == dossier.id).order_by(DossierEvent.id))


# --- The thread ---------------------------------------------------------------------------


def add_message(dossier, body, user=None, agent=None):
    """A message of the thread, from a member (`user`) or an agent; the caller checked who
    may write and holds the transaction (attachments are DossierFiles with `message`)."""
    body = (body or "").strip()
    if not body:
        raise MessageMissing()
    author = user or agent
    return DossierMessage.create(
        dossier=dossier.id,
        author_user=user,
        author_agent=agent,
        author=clip(DossierMessage.author, author.display_name),
        body=body,
        created_at=clock.now(),
    )


def thread(dossier, page=1, per_page=PAGE_SIZE, total=None):
    """(messages, total) of the dossier's thread, oldest first, a page at a time; `total`
    when the caller counted them already."""
    select = DossierMessage.select().where(DossierMessage.dossier == dossier.id)
    rows = select.order_by(DossierMessage.created_at, DossierMessage.id).paginate(max(page, 1), per_page)
    return list(rows), select.count() if total is None else total


# --- Notifications ------------------------------------------------------------------------


def seen_by(dossier):
    """The spaces that see the dossier: the mandant's holder space, and the filing space
    unless the mandate it was filed under ended more than 30 days ago."""
    shown = (
        dossier.mandate_id is None
        or Dossier.select().where(Dossier.id == dossier.id, _visible_in(dossier.space_id)).exists()
    )
    mandant = [dossier.mandant_space_id] if dossier.mandant_space_id else []
    return ([dossier.space_id] if shown else []) + mandant


def notify_members(dossier, subject, message):
    """A mail to every member of the spaces that see the dossier: what happened, in general
    terms, and a link to the dossier page (never its content)."""
    space_ids = seen_by(dossier)
    members = (
        Membership.select(Membership.space, User.email, User.language)
        .join(User)
        .switch(Membership)
        .join(Space)
        .where(Membership.space.in_(space_ids), Space.live(), User.email != "")
        .tuples()
    )
    links = {
        space_id: external_url("procedures.dossier", space_id=space_id, dossier_id=dossier.id)
        for space_id in space_ids
    }
    queue_mails(
        [(email, language, links[space_id]) for space_id, email, language in members],
        subject,
        "notification",
        message=message,
    )
