"""Contacter le Helpdesk and Votre avis nous intéresse: what anyone may send (a message to the
helpdesk, an opinion on a page), throttled in the database; the helpdesk's queue of messages,
its answers, and the list of opinions.

A message is stored and its sender gets an acknowledgement that repeats its subject and
nothing else, not even the name: a form anyone may post must not make the portal mail any
text to any address. The helpdesk answers it once, by e-mail. An opinion is anonymous: the
page it was given on, the answers, the comment.
"""

import hashlib
from datetime import timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from peewee import Case, fn

import clock
import validators
from database import PAGE_SIZE
from models import ContactRequest, Feedback, clip, db
from services import DomainError, InvalidInput, audit, languages, throttle
from services.mail import queue_mail
from services.urls import external_url, safe_next

# Messages to the helpdesk: per sender's address and per client address, 5 an hour.
CONTACT_LIMIT = 5
CONTACT_WINDOW = timedelta(hours=1)
# Opinions: per client address, 20 an hour (an office behind one address gives several).
FEEDBACK_LIMIT = 20
FEEDBACK_WINDOW = timedelta(hours=1)

RATINGS = {
    1: _l("Très mauvaise"),
    2: _l("Mauvaise"),
    3: _l("Moyenne"),
    4: _l("Bonne"),
    5: _l("Très bonne"),
}


# --- Errors ------------------------------------------------------------------------------


class InvalidContact(InvalidInput):
    """A field of the contact form refused."""

    field = "email"


class InvalidEmail(InvalidContact):
    message = _l("Cette adresse e-mail n'est pas valide.")


class AnswerMissing(InvalidContact):
    field = "answer"
    message = _l("Écrivez la réponse.")


class AlreadyAnswered(DomainError):
    status = 409
    message = _l("Cette demande a déjà reçu une réponse : elle n'est pas envoyée une seconde fois.")


class ContactNotFound(DomainError):
    status = 404
    message = _l("Cette demande de contact n'existe pas.")


class HelpdeskOnly(DomainError):
    status = 403
    message = _l("Seul le Helpdesk traite les demandes de contact et les avis.")


class InvalidFeedback(DomainError):
    status = 422
    message = _l("Répondez aux deux questions : avez-vous trouvé ce que vous cherchiez, et votre note.")


class InvalidPage(DomainError):
    """The page an opinion names is not a page of the portal: a forged form."""

    status = 400
    message = _l("Cet avis ne porte sur aucune page du portail.")


# --- Contacter le Helpdesk -----------------------------------------------------------------


def _lines(text):
    """A text area's text as stored: trimmed, its line breaks as browsers send them made one."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _sender_key(email):
    # An address is up to 320 characters, a counter's key 200: its digest stands for it.
    return "contact:email:" + hashlib.sha256(email.lower().encode()).hexdigest()


def send_contact(name, email, subject, message, language, user=None, ip=None):
    """Store a message for the helpdesk and acknowledge it to `email`, in `language` (the
    page's, which the helpdesk's answer is written in too). Raises InvalidEmail,
    or throttle.TooManySent (nothing stored) past CONTACT_LIMIT an hour from this address or
    this client address."""
    try:
        email = validators.email_address(email)
    except validators.InvalidIdentifier:
        raise InvalidEmail() from None
    name, subject = validators.one_line(name).strip(), validators.one_line(subject).strip()
    with db.atomic():
        throttle.count_use(f"contact:ip:{ip or 'unknown'}", CONTACT_LIMIT, CONTACT_WINDOW)
        throttle.count_use(_sender_key(email), CONTACT_LIMIT, CONTACT_WINDOW)
        request_ = ContactRequest.create(
            name=clip(ContactRequest.name, name),
            email=email,
            subject=clip(ContactRequest.subject, subject),
            message=_lines(message),
            user=user,
            language=languages.checked(language),
        )
        queue_mail(
            email,
            _l("Votre message au Helpdesk : %(subject)s", subject=request_.subject),
            "contact_received",
            language=request_.language,
            request=request_,
            contact_link=external_url("help.contact_form"),
        )
        audit.record("contact.received", actor=user, ip=ip, request=request_.id)
    return request_


# --- The helpdesk's queue -----------------------------------------------------------------


def _require_helpdesk(agent):
    if not agent.is_helpdesk:
        raise HelpdeskOnly()


def contact_queue(agent, page=1):
    """(requests of the page, total): unanswered first, the oldest waiting first, then the
    answered ones, the latest answer first."""
    _require_helpdesk(agent)
    query = ContactRequest.select()
    rows = list(
        query.order_by(
            Case(None, [(ContactRequest.answered_at.is_null(), 0)], 1),
            ContactRequest.answered_at.desc(),
            ContactRequest.created_at,
            ContactRequest.id,
        ).paginate(page, PAGE_SIZE)
    )
    return rows, query.count()


def unanswered_count(agent):
    _require_helpdesk(agent)
    return ContactRequest.select().where(ContactRequest.answered_at.is_null()).count()


def contact_request(agent, request_id):
    _require_helpdesk(agent)
    found = ContactRequest.get_or_none(ContactRequest.id == request_id)
    if found is None:
        raise ContactNotFound()
    return found


def answer(agent, request_id, text):
    """Répondre: the answer is mailed to the sender and the request marked answered, once
    (a second answer, from another window or agent, is refused: AlreadyAnswered)."""
    found = contact_request(agent, request_id)
    text = _lines(text)
    if not text:
        raise AnswerMissing()
    now = clock.now()
    with db.atomic():
        answered = (
            ContactRequest.update(answered_at=now, answered_by=agent, answer=text)
            .where(ContactRequest.id == found.id, ContactRequest.answered_at.is_null())
            .execute()
        )
        if not answered:
            raise AlreadyAnswered()
        queue_mail(
            found.email,
            _l("Réponse du Helpdesk : %(subject)s", subject=found.subject),
            "contact_answer",
            language=found.language,
            name=found.name,
            request=found,
            answer=text,
            contact_link=external_url("help.contact_form"),
        )
        audit.record("contact.answered", actor=agent, request=found.id)
    return ContactRequest.get_by_id(found.id)


# --- Votre avis nous intéresse --------------------------------------------------------------


def feedback_page(page):
    """The path an opinion is about (no query string), or None when it is not a local path."""
    path = safe_next(page)
    return path.split("?", 1)[0].split("#", 1)[0] if path else None


def record_feedback(page, found, rating, comment="", ip=None):
    """Store an opinion on `page` (a path of the portal). `found` is True or False, `rating`
    1 to 5. Raises InvalidPage, InvalidFeedback, or throttle.TooManySent (nothing stored)
    past FEEDBACK_LIMIT an hour from the client address."""
    path = feedback_page(page)
    if path is None:
        raise InvalidPage()
    if found not in (True, False) or rating not in RATINGS:
        raise InvalidFeedback()
    with db.atomic():
        throttle.count_use(f"feedback:ip:{ip or 'unknown'}", FEEDBACK_LIMIT, FEEDBACK_WINDOW)
        return Feedback.create(
            page=clip(Feedback.page, path), found=found, rating=rating, comment=(comment or "").strip()
        )


class FeedbackSummary(NamedTuple):
    total: int
    found: int  # how many answered Oui
    average: float | None  # the mean rating, None without ratings


def feedback_list(agent, page=1, query=""):
    """(opinions of the page, summary of all those listed): the newest first; `query`
    keeps the pages whose path contains it."""
    _require_helpdesk(agent)
    listed = Feedback.select()
    if query:
        listed = listed.where(Feedback.page.contains(query))
    rows = list(listed.order_by(Feedback.created_at.desc(), Feedback.id.desc()).paginate(page, PAGE_SIZE))
    total, found, average = (
        listed.select(
            fn.COUNT(Feedback.id),
            fn.COALESCE(fn.SUM(Case(None, [(Feedback.found, 1)], 0)), 0),
            fn.AVG(Feedback.rating),
        )
        .tuples()
        .get()
    )
    return rows, FeedbackSummary(total, found, float(average) if average is not None else None)
