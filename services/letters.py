"""Postal letters: queued by the services that need one (activation codes, access codes,
registration confirmations), printed as A4 PDFs for window envelopes, then marked posted."""

from contextlib import nullcontext
from pathlib import Path

from flask import current_app
from flask_babel import format_date, gettext as _, lazy_gettext as _l
from fpdf import FPDF
from peewee import JOIN, Case, fn

import clock
from database import PAGE_SIZE
from models import Letter, Mandate, clip, db
from services import DomainError, audit, crypto, languages

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"

# DIN 5008 window envelope (C5/6, DL): the address field starts 20 mm from the left and
# 45 mm from the top of an A4 page and is 85 mm wide.
ADDRESS_X, ADDRESS_Y, ADDRESS_W = 25, 50, 85
SENDER_Y = 45


class NoPostalAddress(DomainError):
    status = 422
    message = _l("Un courrier ne peut partir sans adresse postale : indiquez l'adresse du destinataire.")


class LetterNotFound(DomainError):
    status = 404
    message = _l("Ce courrier n'existe pas dans votre file d'attente.")


class LetterPosted(DomainError):
    """A posted letter's code is erased: its PDF would not be the letter that was posted."""

    status = 410
    message = _l(
        "Ce courrier a été posté : le code qu'il portait a été effacé, il ne peut plus être imprimé."
    )


class NothingToPrint(DomainError):
    status = 422
    message = _l("Aucun courrier à imprimer : tous les courriers de la file ont été postés.")


class NothingSelected(DomainError):
    status = 422
    message = _l("Cochez les courriers postés.")


def queue_letter(recipient_name, address_lines, subject, body, *, language, code=None, administration=None):
    """Queue a letter for the post, in `administration`'s queue (an id; None: the portal's
    own, which the helpdesk prints), written in `language` (`subject` and `body` lazy
    strings, translated now); `code` is kept encrypted until the letter is posted. A letter
    without an address could not be posted: it is refused, nothing is queued."""
    address = [line.strip() for line in address_lines if line and line.strip()]
    if not address:
        raise NoPostalAddress()
    return _create(recipient_name, address, subject, body, language, code, administration)


def printable_letter(recipient_name, subject, body, *, language, code=None):
    """A letter its sender prints and hands over itself (a mandate's proxy code): kept for
    its code until that is no longer needed; being a mandate's, it is not in the postal queue."""
    return _create(recipient_name, [], subject, body, language, code)


def _create(recipient_name, address, subject, body, language, code, administration=None):
    language = languages.checked(language)
    return Letter.create(
        administration=administration,
        recipient_name=clip(Letter.recipient_name, languages.written_in(language, recipient_name)),
        address="\n".join(address),
        subject=clip(Letter.subject, languages.written_in(language, subject)),
        body=languages.written_in(language, body),
        language=language,
        code_encrypted=crypto.encrypt("letter-code", code) if code else None,
    )


def carried_code(letter):
    if not letter.code_encrypted:
        return None
    return crypto.decrypt("letter-code", letter.code_encrypted)


# --- The postal queues ---------------------------------------------------------------------
# Each administration has its queue (Letter.administration), the portal its own (None). An
# agent works in its administration's, the helpdesk in the portal's (queue_of); the command
# line in one or in all (EVERY_QUEUE).

EVERY_QUEUE = object()


def queue_of(agent):
    return agent.administration_id  # None for the helpdesk: the portal's queue


def _postal(administration_id=EVERY_QUEUE):
    """The letters of a postal queue (a mandate's letter is printed by the mandant space and
    handed over, never posted: in no queue)."""
    select = (
        Letter.select()
        .join(Mandate, JOIN.LEFT_OUTER, on=(Mandate.letter == Letter.id))
        .where(Mandate.id.is_null())
    )
    if administration_id is EVERY_QUEUE:
        return select
    if administration_id is None:
        return select.where(Letter.administration.is_null())
    return select.where(Letter.administration == administration_id)


def pending(administration_id=EVERY_QUEUE):
    """Letters to print and post, oldest first."""
    return _postal(administration_id).where(Letter.posted_at.is_null()).order_by(Letter.id)


def queue(agent, page=1):
    """The agent's queue, a page of it: the letters to post first (oldest first), then the
    posted ones (latest first); returns (rows, total, pending count)."""
    select = _postal(queue_of(agent))
    to_post = Case(None, [(Letter.posted_at.is_null(), 0)], 1)
    rows = select.order_by(to_post, Letter.posted_at.desc(), Letter.id).paginate(page, PAGE_SIZE)
    counts = select.select(
        fn.COUNT(Letter.id), fn.COUNT(Letter.id).filter(Letter.posted_at.is_null())
    ).scalar(as_tuple=True)
    return list(rows), counts[0], counts[1]


def letter_of(agent, letter_id):
    """A letter of the agent's queue; another queue's is not found."""
    found = _postal(queue_of(agent)).where(Letter.id == letter_id).first()
    if found is None:
        raise LetterNotFound()
    return found


def _selected(administration_id, letter_ids):
    """The letters of a queue whose ids were chosen, in their order; an id of another
    queue (or of no letter) refuses the whole choice, as if it were not there."""
    ids = set(letter_ids)
    found = list(_postal(administration_id).where(Letter.id.in_(list(ids))).order_by(Letter.id))
    if len(found) != len(ids):
        raise LetterNotFound()
    return found


def print_letters(agent, letter_ids=()):
    """Imprimer le lot: the chosen letters of the agent's queue still to post, or all of them
    when none is chosen, as one PDF (one letter a page): returns (letters, pdf)."""
    administration_id = queue_of(agent)
    if letter_ids:
        batch = [letter for letter in _selected(administration_id, letter_ids) if letter.posted_at is None]
        if not batch:
            raise LetterPosted()
    else:
        batch = list(pending(administration_id))
    return batch, _print(batch, agent)


def print_letter(agent, letter_id):
    """One letter of the agent's queue as a PDF (a posted one's code is gone: refused)."""
    letter = letter_of(agent, letter_id)
    if letter.posted_at is not None:
        raise LetterPosted()
    return letter, _print([letter], agent)


def print_pending(administration_id=EVERY_QUEUE):
    """letters-print: every letter of a queue (or of all) still to post, as one PDF:
    returns (letters, pdf)."""
    batch = list(pending(administration_id))
    return batch, _print(batch, None)


def _print(batch, actor):
    """The PDF of `batch`, the letters marked printed (the first time is kept) and each
    printing audited: a printed letter carries a code out of the database."""
    if not batch:
        raise NothingToPrint()
    pdf = render_pdf(batch)
    with db.atomic():
        mark_printed([letter.id for letter in batch])
        for letter in batch:
            audit.record("letter.printed", actor=actor, letter_id=letter.id)
    return pdf


def post_letters(agent, letter_ids):
    """Marquer comme posté: the chosen letters of the agent's queue are posted, their codes
    erased; returns how many were still to post (posting twice changes nothing)."""
    if not letter_ids:
        raise NothingSelected()
    return _post(_selected(queue_of(agent), letter_ids), agent)


def post_by_id(letter_ids):
    """letters-posted: the letters of any queue by id; returns (posted, ids of no queue)."""
    ids = set(letter_ids)
    found = list(_postal().where(Letter.id.in_(list(ids))))
    return _post(found, None), sorted(ids - {letter.id for letter in found})


def _post(batch, actor):
    with db.atomic():
        posted = []
        for letter in batch:
            # One conditional UPDATE a letter: of two agents posting it at once, one counts.
            if mark_posted([letter.id]):
                posted.append(letter.id)
                audit.record("letter.posted", actor=actor, letter_id=letter.id)
    return len(posted)


def mark_printed(letter_ids):
    return (
        Letter.update(printed_at=clock.now())
        .where(Letter.id.in_(letter_ids), Letter.printed_at.is_null())
        .execute()
    )


def mark_posted(letter_ids):
    """Posted letters no longer need their code: it is erased."""
    return (
        Letter.update(posted_at=clock.now(), code_encrypted=None)
        .where(Letter.id.in_(letter_ids), Letter.posted_at.is_null())
        .execute()
    )


def cancel_unprinted(letter_id):
    """A letter whose code died before it was printed (a new code was sent, the request
    withdrawn) leaves the queue: nobody prints a dead code. A printed one is posted as it is."""
    return (
        Letter.delete()
        .where(Letter.id == letter_id, Letter.printed_at.is_null(), Letter.posted_at.is_null())
        .execute()
    )


def render_pdf(letters):
    """One A4 page per letter, in one PDF (a batch to print is just a longer list)."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    shared = {letter.language for letter in letters}  # the title in the letters' language, if one
    with languages.written(shared.pop()) if len(shared) == 1 else nullcontext():
        pdf.set_title(_("Courriers postaux"))
    pdf.set_creator("Espace Pro")
    for letter in letters:
        _render_page(pdf, letter)
    return bytes(pdf.output())


def _render_page(pdf, letter):
    """The page in the letter's language, whoever prints it."""
    with languages.written(letter.language):
        pdf.add_page()
        pdf.set_font("DejaVu", "", 7)
        pdf.set_xy(ADDRESS_X, SENDER_Y)
        pdf.cell(ADDRESS_W, 4, current_app.config["LETTER_SENDER"])
        pdf.set_font("DejaVu", "", 11)
        pdf.set_xy(ADDRESS_X, ADDRESS_Y)
        pdf.multi_cell(ADDRESS_W, 5.5, "\n".join([letter.recipient_name, *letter.address_lines]))

        pdf.set_xy(125, 100)
        pdf.cell(65, 5, _("Luxembourg, le %(date)s", date=format_date(letter.created_at, "long")), align="R")

        pdf.set_xy(25, 115)
        pdf.set_font("DejaVu", "B", 12)
        pdf.multi_cell(160, 6, letter.subject)
        pdf.ln(4)
        pdf.set_x(25)
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(160, 5.5, letter.body)
        code = carried_code(letter)
        if code:
            pdf.ln(6)
            pdf.set_x(25)
            pdf.set_font("DejaVu", "B", 14)
            pdf.multi_cell(160, 8, code, align="C", border=1)
        pdf.set_auto_page_break(False)  # the footer sits in the bottom margin
        pdf.set_font("DejaVu", "", 7)
        pdf.set_xy(25, 282)
        pdf.cell(160, 4, _("Courrier n° %(id)s", id=letter.id))
        pdf.set_auto_page_break(True, margin=20)
