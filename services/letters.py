"""Postal letters: queued by the services that need one (activation codes, access codes,
registration confirmations), printed as A4 PDFs for window envelopes, then marked posted."""

from pathlib import Path

from flask import current_app
from flask_babel import format_date, gettext as _, lazy_gettext as _l
from fpdf import FPDF
from peewee import JOIN

import clock
from models import Letter, Mandate, clip
from services import DomainError, crypto

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"

# DIN 5008 window envelope (C5/6, DL): the address field starts 20 mm from the left and
# 45 mm from the top of an A4 page and is 85 mm wide.
ADDRESS_X, ADDRESS_Y, ADDRESS_W = 25, 50, 85
SENDER_Y = 45


class NoPostalAddress(DomainError):
    status = 422
    message = _l("Un courrier ne peut partir sans adresse postale : indiquez l'adresse du destinataire.")


def queue_letter(recipient_name, address_lines, subject, body, code=None):
    """Queue a letter for the post; `code` is kept encrypted until the letter is posted. A
    letter without an address could not be posted: it is refused, nothing is queued."""
    address = [line.strip() for line in address_lines if line and line.strip()]
    if not address:
        raise NoPostalAddress()
    return _create(recipient_name, address, subject, body, code)


def printable_letter(recipient_name, subject, body, code=None):
    """A letter its sender prints and hands over itself (a mandate's proxy code): kept for
    its code until that is no longer needed; being a mandate's, it is not in the postal queue."""
    return _create(recipient_name, [], subject, body, code)


def _create(recipient_name, address, subject, body, code):
    return Letter.create(
        recipient_name=clip(Letter.recipient_name, recipient_name),
        address="\n".join(address),
        subject=clip(Letter.subject, subject),
        body=body,
        code_encrypted=crypto.encrypt("letter-code", code) if code else None,
    )


def carried_code(letter):
    if not letter.code_encrypted:
        return None
    return crypto.decrypt("letter-code", letter.code_encrypted)


def pending():
    """The postal queue: letters to print and post (a mandate's letter is printed by the
    mandant space and handed over, never posted)."""
    return (
        Letter.select()
        .join(Mandate, JOIN.LEFT_OUTER, on=(Mandate.letter == Letter.id))
        .where(Letter.posted_at.is_null(), Mandate.id.is_null())
        .order_by(Letter.id)
    )


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


def render_pdf(letters):
    """One A4 page per letter, in one PDF (a batch to print is just a longer list)."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(_("Courriers postaux"))
    pdf.set_creator("Espace Pro")
    for letter in letters:
        _render_page(pdf, letter)
    return bytes(pdf.output())


def _render_page(pdf, letter):
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
